/**
 * A listener whose connects hang, for connect timeouts. Node accepts connections as soon as they arrive, so the
 * listener lives in a child process that, once listening, blocks its event loop (Atomics.wait, no CPU) and
 * never accepts. Its accept queue (backlog 1: Node reads a backlog of 0 as "default", 511) is then filled
 * with connections that are never accepted; Linux drops the SYNs of later connects, which hang until their
 * own timeout, exactly like an unreachable host. close() ends the child (by PID) and the filler sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export interface BlackHole {
  readonly port: number;
  close(): void;
}

export async function blackHole(): Promise<BlackHole> {
  const code = `
    const net = require('node:net');
    const server = net.createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000));
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers: net.Socket[] = [];
  const close = () => {
    for (const s of fillers) s.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    let timer: NodeJS.Timeout | undefined;
    const [line] = await Promise.race([
      once(child.stdout!, 'data') as Promise<[Buffer]>,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('black-hole listener did not start')), 5000); }),
    ]).finally(() => clearTimeout(timer));
    const port = Number(line.toString().trim());
    // Connect until one connect hangs: from then on the queue is full (bounded: a few tries).
    for (let i = 0; i < 8; i++) {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.on('error', () => {});
      fillers.push(socket);
      const connected = await Promise.race([
        once(socket, 'connect').then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300).unref()),
      ]);
      if (!connected) return { port, close };
    }
    throw new Error('the black-hole listener kept accepting connections');
  } catch (error) {
    close();
    throw error;
  }
}
