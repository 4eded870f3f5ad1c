#!/usr/bin/env node
// Runs the TypeScript entry point directly: Node 24 strips types, so there is no build step.
import '../router/main.ts';
