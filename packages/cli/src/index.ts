// The CLI as a function, for tools that embed it: `await main(['run', '-b', dir, 'id'])`.
export { main } from './main.js';
