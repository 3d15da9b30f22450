/**
 * A slow link, shaped in-process: TCP proxies on 127.0.0.1 in front of local servers, all of them
 * behind one bottleneck, as every connection of a Raspberry Pi on slow Wi-Fi shares one radio link.
 * Each direction has one bit rate for all connections together (fair round robin between them, in
 * packets of 1,460 bytes) and a one-way delay; a new connection waits a round trip before its first
 * byte reaches the server (the TCP handshake). A connection whose data waits at the bottleneck is
 * paused (TCP's flow control), so the proxy never buffers a whole response.
 *
 * Written here rather than `tc` in a network namespace: it needs no privileges, and its byte counts
 * are exact (what the client received, headers included).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

const PACKET = 1460;
/** A connection's bytes waiting at the bottleneck beyond which its sender is paused. */
const HIGH_WATER = 64 * 1024;
/** The scheduler hands out link time this far ahead, so timer lateness never slows the link. */
const QUANTUM_MS = 4;

interface Flow {
  from: Socket;
  to: Socket;
  packets: Buffer[];
  queued: number;
  /** Packets on the wire: written to `to` at `at`. */
  inFlight: { at: number; data: Buffer }[];
  timer: NodeJS.Timeout | null;
  /** Nothing reaches `to` before this (the handshake). */
  notBefore: number;
  ended: boolean;
}

/** One direction of the bottleneck. */
class Direction {
  private readonly flows: Flow[] = [];
  private next = 0;
  private freeAt = 0;
  private timer: NodeJS.Timeout | null = null;
  bytes = 0;

  constructor(
    private readonly bitsPerMs: number,
    private readonly delayMs: number,
  ) {}

  add(from: Socket, to: Socket, notBefore: number): Flow {
    const flow: Flow = { from, to, packets: [], queued: 0, inFlight: [], timer: null, notBefore, ended: false };
    this.flows.push(flow);
    from.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i += PACKET) flow.packets.push(chunk.subarray(i, i + PACKET));
      flow.queued += chunk.length;
      if (flow.queued > HIGH_WATER) from.pause();
      this.kick();
    });
    from.on('end', () => {
      flow.ended = true;
      this.finish(flow);
    });
    return flow;
  }

  remove(flow: Flow): void {
    const i = this.flows.indexOf(flow);
    if (i >= 0) this.flows.splice(i, 1);
    if (flow.timer) clearTimeout(flow.timer);
  }

  private kick(): void {
    if (this.timer) return;
    // An idle link starts now; a busy one carries on from where its last packet ends.
    this.freeAt = Math.max(this.freeAt, performance.now());
    this.pump();
  }

  /** Puts packets on the wire, one connection after another, while the link has time for them. */
  private pump(): void {
    this.timer = null;
    const now = performance.now();
    while (this.freeAt <= now + QUANTUM_MS) {
      const flow = this.pick();
      if (!flow) return;
      const data = flow.packets.shift()!;
      flow.queued -= data.length;
      if (flow.queued <= HIGH_WATER / 2 && flow.from.isPaused()) flow.from.resume();
      this.freeAt += (data.length * 8) / this.bitsPerMs;
      this.deliver(flow, data, Math.max(this.freeAt + this.delayMs, flow.notBefore));
    }
    this.timer = setTimeout(() => this.pump(), Math.max(0, this.freeAt - now - QUANTUM_MS / 2));
  }

  private pick(): Flow | null {
    for (let k = 0; k < this.flows.length; k++) {
      const flow = this.flows[(this.next + k) % this.flows.length];
      if (flow.packets.length > 0) {
        this.next = (this.next + k + 1) % this.flows.length;
        return flow;
      }
    }
    return null;
  }

  private deliver(flow: Flow, data: Buffer, at: number): void {
    flow.inFlight.push({ at, data });
    if (!flow.timer) this.arm(flow);
  }

  private arm(flow: Flow): void {
    const head = flow.inFlight[0];
    flow.timer = setTimeout(
      () => {
        flow.timer = null;
        const now = performance.now();
        while (flow.inFlight.length > 0 && flow.inFlight[0].at <= now + 0.5) {
          const { data } = flow.inFlight.shift()!;
          this.bytes += data.length;
          if (!flow.to.destroyed) flow.to.write(data);
        }
        if (flow.inFlight.length > 0) this.arm(flow);
        else this.finish(flow);
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  /** Passes the sender's end on once everything it sent has arrived. */
  private finish(flow: Flow): void {
    if (!flow.ended || flow.packets.length > 0 || flow.inFlight.length > 0) return;
    if (!flow.to.destroyed) flow.to.end();
    this.remove(flow);
  }
}

export interface ShapedLink {
  /** `host:port` on 127.0.0.1 for each upstream, in the order given. */
  hosts: string[];
  /** Bytes delivered to clients (responses, headers included) since the last reset. */
  bytesDown(): number;
  bytesUp(): number;
  resetCounters(): void;
  close(): Promise<void>;
}

export async function startShapedLink(
  upstreams: { host: string; port: number }[],
  link: { megabitsPerSecond: number; rttMs: number },
): Promise<ShapedLink> {
  const bitsPerMs = link.megabitsPerSecond * 1000;
  const oneWay = link.rttMs / 2;
  const down = new Direction(bitsPerMs, oneWay);
  const up = new Direction(bitsPerMs, oneWay);
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  for (const target of upstreams) {
    const server = createServer({ pauseOnConnect: false }, (client) => {
      const server = connect(target.port, target.host);
      for (const s of [client, server]) {
        sockets.add(s);
        s.setNoDelay(true);
        s.on('close', () => sockets.delete(s));
      }
      const upFlow = up.add(client, server, performance.now() + link.rttMs);
      const downFlow = down.add(server, client, 0);
      const drop = () => {
        up.remove(upFlow);
        down.remove(downFlow);
        client.destroy();
        server.destroy();
      };
      client.on('error', drop);
      server.on('error', drop);
      client.on('close', () => server.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  return {
    hosts: servers.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`),
    bytesDown: () => down.bytes,
    bytesUp: () => up.bytes,
    resetCounters() {
      down.bytes = 0;
      up.bytes = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
