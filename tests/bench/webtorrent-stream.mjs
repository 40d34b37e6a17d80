// The webtorrent side of `momo-bench compare`: webtorrent-cli's engine (the `webtorrent`
// library it bundles) serving one torrent over HTTP, with what the CLI cannot switch off
// switched off: DHT, local discovery, UPnP/NAT-PMP (traffic off the machine) and uTP (tried
// first for every peer, so TCP-only seeders are reached only after ~40 s). Files are
// deselected, so only what HTTP readers ask for is fetched (WT_DESELECT=0: everything).
//
// usage: node webtorrent-stream.mjs MAGNET HTTP_PORT OUT_DIR
// env:   WEBTORRENT_MODULE  path of webtorrent's index.js
// out:   one JSON line {"event":"ready","files":[{"index","path","length","url"}]} once the
//        metadata is in.
import fs from 'node:fs'

const [magnet, port, out] = process.argv.slice(2)
if (!magnet || !port || !out) {
  console.error('usage: node webtorrent-stream.mjs MAGNET HTTP_PORT OUT_DIR')
  process.exit(2)
}
const { default: WebTorrent } = await import(process.env.WEBTORRENT_MODULE)
const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false })
const fail = what => err => { console.error(`${what}: ${err.message || err}`); process.exit(1) }
client.on('error', fail('webtorrent'))

const torrent = client.add(fs.existsSync(magnet) ? fs.readFileSync(magnet) : magnet, {
  path: out,
  deselect: process.env.WT_DESELECT !== '0'
})
torrent.on('error', fail('torrent'))

const server = client.createServer({}, 'node')
server.server.listen(Number(port), '127.0.0.1')

torrent.on('ready', () => {
  const base = `http://127.0.0.1:${port}`
  const files = torrent.files.map((f, index) => ({ index, path: f.path, length: f.length, url: base + f.streamURL }))
  console.log(JSON.stringify({ event: 'ready', files }))
})

const stop = () => { client.destroy(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref() }
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
