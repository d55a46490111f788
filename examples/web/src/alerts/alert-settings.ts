/**
 * The user's alert choices, kept in localStorage per user (every tab of the browser shares
 * them): alerts on or off, and the muted conversations. Mute is local to this browser: the
 * SDK has no conversation mute that the server keeps.
 */
export interface AlertSettings {
  enabled: boolean;
  muted: string[];
}

const key = (userId: string) => `parley-web:alerts:${userId}`;

export function loadAlertSettings(userId: string): AlertSettings {
  try {
    const raw = JSON.parse(localStorage.getItem(key(userId)) ?? "null") as Partial<AlertSettings> | null;
    return { enabled: raw?.enabled !== false, muted: Array.isArray(raw?.muted) ? raw.muted.filter((id): id is string => typeof id === "string") : [] };
  } catch {
    return { enabled: true, muted: [] };
  }
}

export function saveAlertSettings(userId: string, settings: AlertSettings): void {
  localStorage.setItem(key(userId), JSON.stringify(settings));
}
