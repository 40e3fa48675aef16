/** A D-Bus value with its own signature: what `v` carries, and what a unit property is. */
export class Variant<T = unknown> {
  readonly signature: string;
  readonly value: T;

  constructor(signature: string, value: T) {
    this.signature = signature;
    this.value = value;
  }
}
