import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type {
  JsonSchemaType,
  JsonSchemaValidator,
  jsonSchemaValidator,
} from '@modelcontextprotocol/sdk/validation';

/**
 * The SDK's Ajv validator, created on first use. Every SDK `Client` and `Server` otherwise builds
 * its own Ajv instance (with ajv-formats) when constructed, about 50 KB each; the gateway makes one
 * Server per inbound session and one Client per upstream, and most never validate a JSON Schema
 * (only tools with an `outputSchema` and form elicitations do). One instance per Client/Server,
 * not one shared: Ajv caches every schema it compiles for as long as the instance lives.
 */
export class LazyJsonSchemaValidator implements jsonSchemaValidator {
  readonly #create: () => jsonSchemaValidator;
  #inner: jsonSchemaValidator | undefined;

  /** `create` builds the validator on first use (default: the SDK's Ajv one). */
  constructor(create: () => jsonSchemaValidator = () => new AjvJsonSchemaValidator()) {
    this.#create = create;
  }

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    this.#inner ??= this.#create();
    return this.#inner.getValidator<T>(schema);
  }
}
