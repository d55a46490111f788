/**
 * Keeps each caller's users row (display name from the token's `name`) current. Sockets do it
 * at the handshake; HTTP callers have no handshake, so without this a user who only ever used
 * HTTP would read back as their id (messages' `senderName` and members' `displayName` come
 * from the users row), and a duplicate's answer would differ from the first answer.
 *
 * Remembers what this pod last wrote, so a busy HTTP client costs one write per name change
 * rather than one per request (the send path otherwise never waits on Postgres).
 */
export class UserRecords {
  private readonly written = new Map<string, string>();

  constructor(
    private readonly upsert: (userId: string, name: string) => Promise<void>,
    private readonly maxEntries = 50_000,
  ) {}

  async record(userId: string, name: string): Promise<void> {
    if (this.written.get(userId) === name) return;
    await this.upsert(userId, name);
    if (this.written.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest; a forgotten user costs one more write.
      const oldest = this.written.keys().next();
      if (!oldest.done) this.written.delete(oldest.value);
    }
    this.written.set(userId, name);
  }
}
