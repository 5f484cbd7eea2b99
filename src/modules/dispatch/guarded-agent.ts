import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { Agent as HttpAgent, AgentOptions, ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, AgentOptions as HttpsAgentOptions } from 'node:https';
import { isIP, LookupFunction, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { describeRefusal, NetworkPolicy, Refusal } from '../../common/network-policy';

/** A connection the network policy refused; raised before any packet leaves the host. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_CALLBACK_ADDRESS_BLOCKED';
}

type ConnectionCallback = (error: Error | null, stream: Duplex) => void;
type Connect = (
  options: ClientRequestArgs,
  callback?: ConnectionCallback,
) => Duplex | null | undefined;

/**
 * Vets the address a socket is about to connect to, after DNS: a literal IP host is checked
 * before connecting, a host name through a `lookup` that passes on only the addresses the policy
 * allows. Checking the URL text alone would miss a name that resolves (or is re-pointed) to an
 * internal address; checking here covers every name, spelling and redirect-free retry. Used by
 * the undici connector of CallbackClient (undici-transport.ts) and by the node:http agents below.
 */
export class ConnectionGuard {
  /** `dns.lookup` (or the given one) passing on only allowed addresses: give it to net/tls. */
  readonly lookup: LookupFunction;

  constructor(
    private readonly policy: NetworkPolicy,
    lookup: LookupFunction = dnsLookup,
  ) {
    this.lookup = this.vettedLookup(lookup);
  }

  /**
   * The refusal of a literal IP host (brackets allowed) the policy refuses; undefined for an
   * allowed address and for a host name, which `lookup` vets once resolved.
   */
  refusalOf(host: string): BlockedAddressError | undefined {
    const address = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(address) === 0) return undefined;
    const verdict = this.policy.checkAddress(address);
    return verdict.allowed ? undefined : new BlockedAddressError(describeRefusal(verdict));
  }

  connect(
    options: ClientRequestArgs,
    callback: ConnectionCallback | undefined,
    next: Connect,
  ): Duplex | null | undefined {
    const refusal = this.refusalOf(options.host ?? options.hostname ?? '');
    if (refusal) return refuse(refusal, callback);
    // Net skips the lookup for an IP host (checked above) and calls it for any name.
    const lookup = options.lookup ? this.vettedLookup(options.lookup) : this.lookup;
    return next({ ...options, lookup }, callback);
  }

  /**
   * Drops the addresses the policy refuses, so that only vetted ones are dialled (`localhost`
   * may still reach an allowed 127.0.0.1 when ::1 is refused); fails when none is left.
   */
  private vettedLookup(lookup: LookupFunction): LookupFunction {
    return (hostname, options, callback) => {
      lookup(hostname, options, (error, address, family) => {
        if (error) return callback(error, address, family);
        const candidates: LookupAddress[] =
          typeof address === 'string' ? [{ address, family: family ?? 0 }] : address;
        const refusals: Refusal[] = [];
        const allowed = candidates.filter((candidate) => {
          const verdict = this.policy.checkAddress(candidate.address);
          if (!verdict.allowed) refusals.push(verdict);
          return verdict.allowed;
        });
        if (allowed.length === 0) {
          const reason = refusals[0]
            ? describeRefusal(refusals[0], hostname)
            : `${hostname} resolved to no address`;
          return callback(new BlockedAddressError(reason), address, family);
        }
        if (typeof address === 'string') callback(null, address, family);
        else callback(null, allowed);
      });
    };
  }
}

/**
 * A keep-alive http.Agent whose every new connection goes through the guard. Deliveries go
 * through undici (undici-transport.ts); these agents are the guard for node:http clients.
 */
export class GuardedHttpAgent extends HttpAgent {
  constructor(
    private readonly guard: ConnectionGuard,
    options?: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: ConnectionCallback,
  ): Duplex | null | undefined {
    return this.guard.connect(options, callback, (o, cb) => super.createConnection(o, cb));
  }
}

/** The https counterpart of GuardedHttpAgent (TLS starts only on a vetted connection). */
export class GuardedHttpsAgent extends HttpsAgent {
  constructor(
    private readonly guard: ConnectionGuard,
    options?: HttpsAgentOptions,
  ) {
    super(options);
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: ConnectionCallback,
  ): Duplex | null | undefined {
    return this.guard.connect(options, callback, (o, cb) => super.createConnection(o, cb));
  }
}

/**
 * Hands the error to the agent's callback (http.Agent's contract: it then returns no socket),
 * or, called without one, returns a socket that fails with it.
 */
function refuse(
  error: BlockedAddressError,
  callback: ConnectionCallback | undefined,
): Socket | undefined {
  const socket = new Socket();
  if (!callback) {
    process.nextTick(() => socket.destroy(error));
    return socket;
  }
  socket.destroy();
  callback(error, socket);
  return undefined;
}

/** The BlockedAddressError behind an error (axios's http adapter wraps it in `cause`), if any. */
export function blockedCause(error: unknown): BlockedAddressError | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof BlockedAddressError) return current;
    current = current.cause;
  }
  return undefined;
}
