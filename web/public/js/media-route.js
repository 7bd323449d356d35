// media-route.js — where the page's audio leaves the AudioContext. On a phone a page that plays
// only through Web Audio is not "media" to the OS: Android and iOS suspend it when the screen locks
// or the browser goes to the background. Audio that an <audio> element plays is media, so on mobile
// browsers the graph ends in a MediaStreamAudioDestinationNode whose stream an <audio> element plays
// (what Sendspin's web player does); the lock screen then shows the Media Session and keeps
// playing. It adds the element's own buffering (measured: docs/web.md), so desktops play straight
// into ctx.destination. `?route=element|direct` in the address overrides the choice.
//   const r = connectRoute(ctx, lastNode, audioElement);   r.kind: 'element' | 'direct'
//   r.play() inside the user's gesture, r.pause() on stop.

export function wantsElementRoute(search = location.search) {
  const q = new URLSearchParams(search).get('route');
  if (q === 'element') return true;
  if (q === 'direct') return false;
  const uad = navigator.userAgentData;
  if (uad && typeof uad.mobile === 'boolean') return uad.mobile;
  // iPadOS says "Macintosh" but has touch points; everything else says Mobile/Android/iPhone.
  return /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent) ||
    (/Macintosh/.test(navigator.userAgent) && navigator.maxTouchPoints > 1);
}

export function connectRoute(ctx, node, element) {
  if (element && wantsElementRoute() && typeof ctx.createMediaStreamDestination === 'function') {
    const dest = ctx.createMediaStreamDestination();
    node.connect(dest);
    element.srcObject = dest.stream;
    return {
      kind: 'element',
      // play() must start inside the click (autoplay policy); a refusal is reported, not thrown
      play: () => element.play().catch((e) => console.warn('loopcast: the <audio> route did not start:', e.message || e)),
      pause: () => element.pause(),
      get playing() { return !element.paused; },
    };
  }
  node.connect(ctx.destination);
  return { kind: 'direct', play: () => {}, pause: () => {}, get playing() { return true; } };
}
