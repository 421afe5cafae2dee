export { actorOf, publicUser, removeUser, saveUser, type UserInput, type UserWriteContext } from './user-writes.js';
