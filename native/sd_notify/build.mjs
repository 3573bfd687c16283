#!/usr/bin/env node
// Builds native/sd_notify/build/Release/sd_notify.node with the node-gyp that ships with npm.
// Usage: node native/sd_notify/build.mjs [--if-missing]
// Honours npm's `nodedir` setting (machines without internet access to the Node headers).
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'Release', 'sd_notify.node');
if (process.argv.includes('--if-missing') && existsSync(out)) process.exit(0);

function findNodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const npmBin = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  const npmRoot = dirname(dirname(realpathSync(npmBin)));
  for (const c of [join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), join(dirname(npmRoot), 'node-gyp', 'bin', 'node-gyp.js')]) {
    if (existsSync(c)) return c;
  }
  throw new Error('node-gyp not found (it ships with npm)');
}

const env = { ...process.env };
if (!env.npm_config_nodedir) {
  try {
    const nodedir = execFileSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (nodedir && nodedir !== 'undefined' && nodedir !== 'null') env.npm_config_nodedir = nodedir;
  } catch {
    /* no npm config */
  }
}
execFileSync(process.execPath, [findNodeGyp(), 'rebuild', '--loglevel=warn', '--directory', here], { env, stdio: ['ignore', 'ignore', 'inherit'] });
if (!existsSync(out)) throw new Error(`build did not produce ${out}`);
