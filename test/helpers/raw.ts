/** Raw HTTP over TCP, for requests a normalizing client would never send. */
import net from 'node:net';

/** Sends `request` as is (latin1) and returns everything the gateway answered until it closed. */
export function rawRequest(port: number, request: string, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: options.localAddress ?? '127.0.0.1' }, () => socket.write(request, 'latin1'));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${options.timeoutMs ?? 5000} ms to ${JSON.stringify(request.slice(0, 200))}; got ${JSON.stringify(data.slice(0, 200))}`));
    }, options.timeoutMs ?? 5000);
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (data) resolve(data);
      else reject(err);
    });
  });
}
