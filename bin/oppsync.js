#!/usr/bin/env node
'use strict';
// The command is compiled to dist/ by `npm run build` (run automatically by `npm ci` through `prepare`).
require('../dist/cli/main.js').main(process.argv);
