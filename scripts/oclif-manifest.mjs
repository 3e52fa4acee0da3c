// Writes oclif.manifest.json after the build, so the CLI finds its commands without importing every one of them at
// start-up (score and predict pull in tfjs): `seldpipe status` must answer quickly.
import {writeFileSync} from 'node:fs'
import {Plugin} from '@oclif/core/config'

const plugin = new Plugin({root: process.cwd(), type: 'core', ignoreManifest: true, errorOnManifestCreate: true, isRoot: true})
await plugin.load()
writeFileSync('oclif.manifest.json', JSON.stringify(plugin.manifest))
