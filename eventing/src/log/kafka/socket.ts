import net from 'node:net';
import type { ISocketFactory } from 'kafkajs';
import type { KafkaReachability } from './reachability.js';

/**
 * kafkajs' socket factory plus TCP_NODELAY, as the Java client sets on every broker connection. Without it,
 * Nagle's algorithm holds a small request (a fetch, an offset commit) while an earlier one on the same
 * connection is unacknowledged, which adds up to a delayed-ACK interval (40 ms on Linux) to delivery.
 * Connection outcomes go to `reachability` (fast 503s while no broker is reachable).
 */
export function noDelaySocketFactory(reachability: KafkaReachability): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const address = `${host}:${port}`;
    const socket = net.connect({ host, port, noDelay: true }, () => {
      reachability.connected(address);
      onConnect();
    });
    socket.on('error', (err) => reachability.failed(address, err));
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
}
