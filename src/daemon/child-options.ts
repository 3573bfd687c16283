// How the parent hands its DaemonOptions to the children it forks (child-main.ts reads and removes it).
export const CHILD_OPTIONS_ENV = 'LVSKEEPER_CHILD_OPTIONS';
