/** Small helpers the SDK clients share: closing their WebSocket, waiting for a matching message. */
import WebSocket from 'ws';

/** Closes the socket and resolves once it is closed (at once if there is none or it already is). */
export function closeSocket(socket: WebSocket | undefined): Promise<void> {
  if (socket === undefined || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.close();
  });
}

/**
 * The first message matching `predicate`: taken out of `received` if it is already
 * there, else awaited on `emitter`'s `event` (and then removed from `received` too).
 * Rejects after timeoutMs.
 */
export function nextMatching<M>(
  emitter: NodeJS.EventEmitter, event: string, received: M[], predicate: (m: M) => boolean, timeoutMs: number, what: string,
): Promise<M> {
  const index = received.findIndex(predicate);
  if (index >= 0) return Promise.resolve(received.splice(index, 1)[0]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no matching ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (m: M) => {
      if (!predicate(m)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      const at = received.indexOf(m);
      if (at >= 0) received.splice(at, 1);
      resolve(m);
    };
    emitter.on(event, listener);
  });
}
