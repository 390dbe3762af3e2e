import { connect, type Socket } from 'node:net';

/** An HTTP/1.1 response read off a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** ms from the connection's start to the response's last byte. */
  ms: number;
}

/**
 * A client on a bare TCP socket, for what `fetch` cannot do: send a request slowly or in part, send
 * oversized or malformed headers, and watch when the server closes the connection.
 */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private readonly started = Date.now();
  private waiter?: () => void;
  /** Resolves with the ms from the start when the server closes the connection. */
  readonly closed: Promise<number>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.waiter?.();
    });
    socket.on('error', () => undefined); // a reset is a close, for these tests
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        resolve(Date.now() - this.started);
        this.waiter?.();
      }),
    );
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  write(data: string): void {
    this.socket.write(data);
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** The next whole response (by Content-Length); rejects if the connection closes first. */
  async response(): Promise<RawResponse> {
    for (;;) {
      const parsed = this.take();
      if (parsed) return parsed;
      if (this.socket.destroyed)
        throw new Error(
          `connection closed without a response (${this.buffer.length} bytes: ${this.buffer.toString().slice(0, 200)})`,
        );
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private take(): RawResponse | undefined {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffer.length < end + 4 + length) return undefined;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body, ms: Date.now() - this.started };
  }
}
