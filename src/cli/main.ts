export async function main(argv: string[]): Promise<void> {
  console.log('qiao', argv.slice(2).join(' '));
}
