// Timeouts on the HTTP(S) server, each with a clear answer: a client that takes too
// long to send its headers gets 408 with the OCI envelope; a connection on which
// nothing moves for --idle-timeout is closed (an upload cut this way keeps the bytes
// that arrived, and its status tells the client where to resume). There is no
// whole-request timeout: a large blob may take long.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { ERROR_CODES } from '../shared/errors.js';
import { duration, type SecurityOptions } from './auth/options.js';
import type { Logger } from 'pino';

export function serverTimeouts(opts: SecurityOptions, logger: Logger): { options: ServerOptions; apply(server: Server): void } {
  const headers = duration(opts.headerTimeout ?? '60s', '--header-timeout');
  const idle = duration(opts.idleTimeout ?? '5m', '--idle-timeout');
  return {
    // Node checks the header deadline on this interval; keep it well under the deadline.
    options: { headersTimeout: headers, requestTimeout: 0, connectionsCheckingInterval: Math.min(30_000, Math.max(100, headers / 4)) },
    apply(server) {
      server.requestTimeout = 0;
      server.headersTimeout = headers;
      if (idle > 0) {
        server.setTimeout(idle, (socket: Socket) => {
          logger.warn({ ip: socket.remoteAddress, idleMs: idle }, `closed a connection idle for ${opts.idleTimeout ?? '5m'} (--idle-timeout)`);
          socket.destroy();
        });
      }
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
        if (!socket.writable) return void socket.destroy();
        if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') {
          // What Node answers by itself when no listener is attached.
          const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
          return void socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
        }
        const message = `the request headers did not arrive within ${opts.headerTimeout ?? '60s'} (--header-timeout)`;
        const body = JSON.stringify({ errors: [{ code: 'REQUEST_TIMEOUT', message, detail: null }] });
        socket.end(
          `HTTP/1.1 ${ERROR_CODES.REQUEST_TIMEOUT.status} Request Timeout\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nDocker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n\r\n${body}`,
        );
      });
    },
  };
}

/** Whether clients beyond this machine can reach the address. */
export function beyondLoopback(host: string): boolean {
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host));
}
