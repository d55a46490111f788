/** The receiver refused a notification for good (a 4xx other than 408/429): retrying cannot help. */
export class NotificationRejectedError extends Error {
  override readonly name = "NotificationRejectedError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
