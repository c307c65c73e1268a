export {
  parseReplayFrom,
  REPLAY_PATH_PREFIX,
  REPLAY_ROLES,
  type ReplayResponse,
  type ReplayRouteOptions,
  replayRoutes,
} from './route.js';
