// media-session.js — what a phone's lock screen and notification shade show while the page plays
// (the Media Session API): the stream's title, the page's icon, and play/pause/stop buttons that
// do what the page's own button does. Where the Audio Session API exists (Safari), the page's
// audio is typed "playback", so the ring/silent switch does not mute it.
//   const ms = bindMediaSession({ play, stop });  ms.update(playing, title);
// Browsers without the API get an object whose update() does nothing.

export function bindMediaSession({ play, stop }) {
  const ms = navigator.mediaSession;
  const handlers = { play, pause: stop, stop };
  const actions = [];
  if (ms) {
    for (const [action, fn] of Object.entries(handlers)) {
      try { ms.setActionHandler(action, fn); actions.push(action); } catch { /* not offered here */ }
    }
  }
  if (navigator.audioSession) {
    try { navigator.audioSession.type = 'playback'; } catch { /* read-only in this browser */ }
  }
  let title = null;
  return {
    actions,                                  // what the OS may call (for the tests)
    run(action) { if (handlers[action]) handlers[action](); },
    update(playing, newTitle) {
      if (!ms) return;
      if (newTitle !== title && typeof MediaMetadata === 'function') {
        title = newTitle;
        ms.metadata = new MediaMetadata({
          title, artist: 'loopcast',
          // PNGs first: iOS's lock screen shows no SVG artwork
          artwork: [
            { src: new URL('icon-512.png', location.href).href, sizes: '512x512', type: 'image/png' },
            { src: new URL('icon-192.png', location.href).href, sizes: '192x192', type: 'image/png' },
            { src: new URL('icon.svg', location.href).href, sizes: 'any', type: 'image/svg+xml' },
          ],
        });
      }
      ms.playbackState = playing ? 'playing' : 'paused';
    },
  };
}
