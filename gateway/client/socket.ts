/** Small helpers the SDK clients share for their WebSocket. */
import WebSocket from 'ws';

/** Closes the socket and resolves once it is closed (at once if there is none or it already is). */
export function closeSocket(socket: WebSocket | undefined): Promise<void> {
  if (socket === undefined || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.close();
  });
}
