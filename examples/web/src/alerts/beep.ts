/**
 * A short two-tone chime made with Web Audio (nothing to download or ship): 60 ms at 880 Hz,
 * then 90 ms at 1,320 Hz, with a soft envelope so it does not click.
 * The context is created on the first user gesture (browsers keep audio suspended until one);
 * before that a beep is silently skipped.
 */
export class Beeper {
  private context: AudioContext | undefined;

  /** Call from a user gesture (a click): lets later beeps play while the tab is in the background. */
  unlock(): void {
    if (typeof AudioContext === "undefined") return;
    try {
      this.context ??= new AudioContext();
      void this.context.resume().catch(() => undefined);
    } catch {
      // No audio device (some headless or locked-down browsers): alerts go on without sound.
    }
  }

  beep(): void {
    const ctx = this.context;
    if (!ctx) return;
    const start = ctx.currentTime;
    for (const [offset, frequency, length] of [
      [0, 880, 0.06],
      [0.07, 1320, 0.09],
    ] as const) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + length + 0.02);
    }
  }
}
