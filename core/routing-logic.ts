/** The routing logics, shared by the router's CLI and the VllmPool resource. */
export const ROUTING_LOGIC_NAMES = [
  'roundrobin',
  'least_loaded',
  'session',
  'prefix_aware',
  'workflow_aware',
] as const;
export type RoutingLogicName = (typeof ROUTING_LOGIC_NAMES)[number];
