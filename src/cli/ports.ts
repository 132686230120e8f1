/** Whether another process holds a port: try to listen on it for a moment. */
import { createServer } from 'node:net';

export function portTaken(host: string, port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE');
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => {
        resolve(false);
      });
    });
  });
}
