import { sql, type Kysely } from 'kysely';

/*
 * lane_holds: lanes whose messages the relayer holds because the destination's
 * gas price passed the bound the lane fee covers (issue 5). Written by whichever
 * relayer process checked the lane last, read by every process (the API's
 * `waiting` note, the `qiao_lane_fee_blocked` gauge): the relayer that holds a
 * lane is often not the process that serves HTTP. One row per lane; gas prices
 * are wei/gas, up to uint256 as eth_gasPrice returns them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lane_holds')
    .addColumn('src_chain', 'text', (c) => c.notNull())
    .addColumn('dst_chain', 'text', (c) => c.notNull())
    .addColumn('max_dst_gas_price', 'numeric(78, 0)', (c) => c.notNull())
    .addColumn('gas_price', 'numeric(78, 0)', (c) => c.notNull())
    .addColumn('waiting', 'integer', (c) => c.notNull())
    .addColumn('since', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('lane_holds_pkey', ['src_chain', 'dst_chain'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lane_holds').ifExists().execute();
}
