/** What stands in for the text of a message whose sender this user blocks (list preview and pane). */
export const BLOCKED_PLACEHOLDER = "message from a blocked user";
