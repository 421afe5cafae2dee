/** An upstream in the test process that records every request it receives (method, raw url, headers, body size). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
}

export interface Recorder {
  url: string;
  port: number;
  requests: Recorded[];
  close(): Promise<void>;
}

/** `handler` may answer differently; by default 200 "ok" once the body is read. */
export async function startRecorder(handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void): Promise<Recorder> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes: body.length });
      if (handler) handler(req, res, body);
      else res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
