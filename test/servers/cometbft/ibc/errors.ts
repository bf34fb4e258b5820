import { ModuleError } from '../node/module.ts';

/**
 * ibc-go's registered errors (codespace, code, root message), so a refused tx carries the same
 * code/codespace a real chain gives: clients of the model (the adapter) may branch on them.
 */
type Registered = readonly [codespace: string, code: number, root: string];

export const ERR = {
  // modules/core/errors (codespace "ibc")
  invalidSequence: ['ibc', 1, 'invalid sequence'],
  unauthorized: ['ibc', 2, 'unauthorized'],
  invalidRequest: ['ibc', 8, 'invalid request'],
  invalidHeight: ['ibc', 9, 'invalid height'],
  invalidType: ['ibc', 12, 'invalid type'],
  unpackAny: ['ibc', 14, 'failed unpacking protobuf message from Any'],
  notFound: ['ibc', 16, 'not found'],
  // 02-client
  invalidClient: ['client', 3, 'light client is invalid'],
  clientNotFound: ['client', 4, 'light client not found'],
  clientFrozen: ['client', 5, 'light client is frozen due to misbehaviour'],
  invalidConsensus: ['client', 8, 'invalid consensus state'],
  invalidClientType: ['client', 10, 'invalid client type'],
  invalidHeader: ['client', 12, 'invalid client header'],
  invalidMisbehaviour: ['client', 13, 'invalid light client misbehaviour'],
  selfConsensusStateNotFound: ['client', 22, 'self consensus state not found'],
  clientInvalidHeight: ['client', 26, 'invalid height'],
  clientNotActive: ['client', 29, 'client state is not active'],
  // 03-connection
  connectionNotFound: ['connection', 3, 'connection not found'],
  invalidConnectionState: ['connection', 6, 'invalid connection state'],
  invalidConnectionCounterparty: ['connection', 7, 'invalid counterparty connection'],
  invalidConnectionVersion: ['connection', 9, 'invalid connection version'],
  // 04-channel
  channelNotFound: ['channel', 3, 'channel not found'],
  invalidChannel: ['channel', 4, 'invalid channel'],
  invalidChannelState: ['channel', 5, 'invalid channel state'],
  invalidChannelOrdering: ['channel', 6, 'invalid channel ordering'],
  invalidChannelCounterparty: ['channel', 7, 'invalid counterparty channel'],
  sequenceSendNotFound: ['channel', 10, 'sequence send not found'],
  invalidPacket: ['channel', 13, 'invalid packet'],
  tooManyConnectionHops: ['channel', 15, 'too many connection hops'],
  invalidAcknowledgement: ['channel', 16, 'invalid acknowledgement'],
  acknowledgementExists: ['channel', 17, 'acknowledgement for packet already exists'],
  invalidChannelVersion: ['channel', 24, 'invalid channel version'],
  invalidTimeout: ['channel', 26, 'invalid packet timeout'],
  timeoutNotReached: ['channel', 39, 'timeout not reached'],
  timeoutElapsed: ['channel', 40, 'timeout elapsed'],
  // 05-port
  routeNotFound: ['port', 5, 'route not found'],
  // 23-commitment
  commitmentInvalidProof: ['commitment', 2, 'invalid proof'],
  // 06-solomachine
  smInvalidHeader: ['06-solomachine', 2, 'invalid header'],
  smInvalidSignatureAndData: ['06-solomachine', 4, 'invalid signature and data'],
  smSignatureVerificationFailed: ['06-solomachine', 5, 'signature verification failed'],
  smInvalidProof: ['06-solomachine', 6, 'invalid solo machine proof'],
  // cosmos-sdk errors that ibc-go returns for malformed messages
  sdkInvalidAddress: ['sdk', 7, 'invalid address'],
  sdkUnauthorized: ['sdk', 4, 'unauthorized'],
  sdkInvalidCoins: ['sdk', 10, 'invalid coins'],
  // gRPC query errors as baseapp maps them (codes.NotFound / codes.InvalidArgument)
  sdkKeyNotFound: ['sdk', 38, 'key not found'],
  sdkInvalidRequest: ['sdk', 18, 'invalid request'],
} as const satisfies Record<string, Registered>;

export type ErrName = keyof typeof ERR;

/** errorsmod.Wrap: the log reads "<detail>: <root message>" as the SDK formats wrapped errors. */
export function ibcError(name: ErrName, detail?: string): ModuleError {
  const [codespace, code, root] = ERR[name];
  return new ModuleError(codespace, code, detail ? `${detail}: ${root}` : root);
}

/**
 * An error no module registered (e.g. cosmos-sdk's multisig verification returns fmt.Errorf):
 * baseapp reports it as codespace "undefined", code 1.
 */
export function unregisteredError(message: string): ModuleError {
  return new ModuleError('undefined', 1, message);
}

/** Wrap keeps the code of the cause and prefixes the log, as errorsmod.Wrapf does. */
export function wrap(err: unknown, context: string): unknown {
  if (err instanceof ModuleError) return new ModuleError(err.codespace, err.code, `${context}: ${err.message}`);
  return err;
}
