// workflow-router entry point. The router lands with the router issue; until then
// the binary exists, documents itself and exits cleanly.
const usage = `Usage: workflow-router [options]

OpenAI-compatible, workflow-aware router for vLLM pods.

Options:
  -h, --help   show this help
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(usage);
  process.exit(0);
}
process.stderr.write('workflow-router: the router is not built yet (see --help)\n');
process.exit(2);
