import { CorralError } from '../errors.js';

// runc's rule: letters, digits, and _ + - . ; not "." or "..", which would name a directory
// outside the state root.
const VALID_ID = /^[\w+.-]+$/;
const MAX_ID_LENGTH = 1024;

export function validateContainerId(id: string): void {
  if (!id) throw new CorralError('INVALID_ID', 'container id cannot be empty');
  if (id.length > MAX_ID_LENGTH)
    throw new CorralError('INVALID_ID', `invalid container id: longer than ${MAX_ID_LENGTH}`);
  if (!VALID_ID.test(id) || id === '.' || id === '..') {
    throw new CorralError(
      'INVALID_ID',
      `invalid container id ${JSON.stringify(id)}: use letters, digits and _ + - . only`,
    );
  }
}
