import fs from 'node:fs';
import path from 'node:path';

/** The repository root, found from this file whether it runs from sources (jest) or from dist/. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string };
      if (pkg.name === 'oppsync') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`oppsync: cannot find the project root above ${__dirname}`);
    dir = parent;
  }
}

/** The Temporal CLI installed by scripts/install-temporal.sh, unless TEMPORAL_CLI_PATH names another one. */
export function temporalCliPath(): string {
  return process.env.TEMPORAL_CLI_PATH ?? path.join(projectRoot(), '.tools', 'bin', 'temporal');
}
