// icons.mjs — renders the page's PNG icons from web/public/icon.svg with headless Chromium, for
// the platforms that want bitmaps: iOS's apple-touch-icon (180 px, full-bleed: iOS rounds it
// itself) and the manifest's 192/512 px icons (512 full-bleed also serves as "maskable").
// Run after changing icon.svg, and commit the PNGs:  node web/tools/icons.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../../tests/browser/harness.mjs';

const pub = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'public');
const svg = fs.readFileSync(path.join(pub, 'icon.svg'), 'utf8');
const square = svg.replace(/ rx="\d+"/, '');          // full-bleed: the platform applies its mask
const jobs = [['apple-touch-icon.png', 180, square], ['icon-192.png', 192, svg], ['icon-512.png', 512, square]];
const b = await launchBrowser({ viewport: { width: 512, height: 512 } });
try {
  for (const [name, px, art] of jobs) {
    await b.page.setViewportSize({ width: px, height: px });
    await b.page.setContent(`<html><body style="margin:0;background:transparent">${art.replace('<svg ', `<svg width="${px}" height="${px}" `)}</body></html>`);
    await b.page.screenshot({ path: path.join(pub, name), omitBackground: true });
    console.log(`wrote web/public/${name} (${px}×${px})`);
  }
} finally {
  await b.close();
}
