/** A client's WebSocket as the subscriptions area sees it (src/http/websocket.ts adapts the `ws` one). */
export interface SubscriberSocket {
  /** Sends one text message; resolves when it is written to the connection, rejects when it cannot be. */
  send(text: string): Promise<void>;
}

/**
 * The sockets bound to websocket Subscriptions on this node (R4 §subscription websockets: `bind [id]`).
 * The delivery worker pings the subscriptions bound here, under their lease: the node that holds a
 * bound socket is the one that delivers its subscription, and another node's worker leaves it alone.
 */
export class SocketHub {
  private readonly bySubscription = new Map<string, Set<SubscriberSocket>>();

  bind(id: string, socket: SubscriberSocket): void {
    const sockets = this.bySubscription.get(id) ?? new Set<SubscriberSocket>();
    sockets.add(socket);
    this.bySubscription.set(id, sockets);
  }

  /** Forgets a socket (closed, or bound anew): from one subscription, or from all when none is named. */
  unbind(socket: SubscriberSocket, id?: string): void {
    for (const [sub, sockets] of this.bySubscription) {
      if (id !== undefined && sub !== id) continue;
      sockets.delete(socket);
      if (!sockets.size) this.bySubscription.delete(sub);
    }
  }

  socketsOf(id: string): SubscriberSocket[] {
    return [...(this.bySubscription.get(id) ?? [])];
  }

  /** The subscriptions with a socket bound on this node. */
  boundIds(): string[] {
    return [...this.bySubscription.keys()];
  }
}
