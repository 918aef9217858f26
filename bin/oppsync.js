#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 --max-old-space-size=128
'use strict';
// Memory settings only take effect when a process starts, so the command carries them: a worker writing 5,000-row
// pages then stays under 300 MB (docs/decisions.md, "Worker memory"). `node bin/oppsync.js` runs without them;
// pass your own node flags there.
// The command is compiled to dist/ by `npm run build` (run automatically by `npm ci` through `prepare`).
require('../dist/cli/main.js').main(process.argv);
