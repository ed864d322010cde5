// The audible cue for imminent risk: a short two-tone beep generated with WebAudio (no sound file to fetch),
// with a mute toggle. Browsers only allow sound after the user has interacted with the page, so the context
// is created (or resumed) on the first click or key press.

export class AlertSound {
  constructor() {
    this.muted = false;
    this.context = null;
    this.unlock = () => this.ensure();
    window.addEventListener('pointerdown', this.unlock, { once: true });
    window.addEventListener('keydown', this.unlock, { once: true });
  }

  ensure() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!this.context) this.context = new Ctx();
    if (this.context.state === 'suspended') this.context.resume().catch(() => {});
    return this.context;
  }

  /** Two short tones (880 Hz, then 660 Hz); returns whether a sound was scheduled. */
  beep() {
    if (this.muted) return false;
    const ctx = this.ensure();
    if (!ctx) return false;
    const start = ctx.currentTime + 0.01;
    [[880, 0], [660, 0.22]].forEach(([freq, offset]) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.2);
    });
    return true;
  }

  /** Wire a toggle button: its name stays "Mute alert sound", `aria-pressed` (and a visible word) says the state. */
  bindToggle(button) {
    const state = button.querySelector('.toggle-state');
    const show = () => {
      button.setAttribute('aria-pressed', String(this.muted));
      if (state) state.textContent = this.muted ? 'muted' : 'on';
    };
    button.addEventListener('click', () => {
      this.muted = !this.muted;
      if (!this.muted) this.ensure();
      show();
    });
    show();
  }
}
