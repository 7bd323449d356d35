// icecast_test.sh's events client: prints "hello STATE" (the first target's state in the events
// hello), then "down ERROR" at the first `icecast` event saying /live.opus is retrying and
// "up CONNECTS" at the next saying it is live again ("none" where one never came).
import { client } from './ws_lib.mjs';

const [port, token] = process.argv.slice(2);
const live = (state) => (j) => j.type === 'icecast' && j.icecast.url.endsWith('/live.opus') && j.icecast.state === state;
const E = client(`ws://127.0.0.1:${port}/api/v1/events`, 'loopcast.events.v1');
await E.open;
E.ws.send(JSON.stringify({ type: 'auth', token }));
const h = await E.wait((j) => j.type === 'hello', 3000);
console.log('hello', h ? h.j.status.icecast[0].state : 'none');
const down = await E.wait(live('retrying'), 15000);
console.log('down', down ? down.j.icecast.error : 'none');
const up = await E.wait(live('live'), 25000);
console.log('up', up ? up.j.icecast.connects : 'none');
process.exit(0);
