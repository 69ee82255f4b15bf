/**
 * Just enough typing of the npm `radius` package (CommonJS, no bundled types) for the
 * differential tests in this folder. See node_modules/radius/README.md.
 */
declare module 'radius' {
  type AttributeList = Array<[string | number, ...unknown[]]> | Record<string, unknown>;

  interface Decoded {
    code: string;
    identifier: number;
    length: number;
    authenticator: Buffer;
    attributes: Record<string, any>;
    raw_attributes: Array<[number, Buffer]>;
  }

  interface Radius {
    add_dictionary(path: string): void;
    unload_dictionaries(): void;
    load_dictionaries(): void;
    decode(args: { packet: Buffer; secret: string }): Decoded;
    decode_without_secret(args: { packet: Buffer }): Decoded;
    encode(args: {
      code: string;
      secret: string;
      identifier?: number;
      authenticator?: Buffer;
      attributes?: AttributeList;
      add_message_authenticator?: boolean;
    }): Buffer;
    encode_response(args: { packet: Decoded; code: string; secret: string; attributes?: AttributeList }): Buffer;
    verify_response(args: { request: Buffer; response: Buffer; secret: string }): boolean;
    InvalidSecretError: new (...args: any[]) => Error;
  }

  const radius: Radius;
  export default radius;
}
