// `npm run demo-image [DIR]`: writes a tiny real OCI image layout (tag `latest`) for a
// first push, so trying Cairn needs no image from anywhere else.
import { resolve } from 'node:path';
import { realImage, writeOciLayout } from './images.js';

const dir = resolve(process.argv[2] ?? 'demo-image');
const image = await realImage({ 'hello.txt': 'hello from cairn\n' });
await writeOciLayout(dir, [{ image, tag: 'latest' }]);
console.log(`wrote an OCI image layout to ${dir} (oci:${dir}:latest, ${image.digest})`);
