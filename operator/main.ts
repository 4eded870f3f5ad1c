// workflow-operator entry point. The controllers land with the operator issue; until then
// the binary exists, documents itself and exits cleanly.
const usage = `Usage: workflow-operator [options]

Watches VllmPool and Workflow resources and the vLLM pods, writes routing state into
Redis and live status back onto Workflow resources.

Options:
  -h, --help   show this help
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(usage);
  process.exit(0);
}
process.stderr.write('workflow-operator: the controllers are not built yet (see --help)\n');
process.exit(2);
