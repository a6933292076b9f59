"use strict";
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __commonJS = (cb, mod) => function __require() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// build/wasm/ecs_runner_core.js
var require_ecs_runner_core = __commonJS({
  "build/wasm/ecs_runner_core.js"(exports2) {
    "use strict";
    var WasmMachine = class {
      __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        WasmMachineFinalization.unregister(this);
        return ptr;
      }
      free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_wasmmachine_free(ptr, 0);
      }
      /**
       * Throws an Error when `config` does not have the shape of `Config`.
       * @param {Config} config
       */
      constructor(config) {
        const ret = wasm.wasmmachine_new(config);
        if (ret[2]) {
          throw takeFromExternrefTable0(ret[1]);
        }
        this.__wbg_ptr = ret[0];
        WasmMachineFinalization.register(this, this.__wbg_ptr, this);
        return this;
      }
      /**
       * Feeds one event with the current time (`Date.now()`), returns what to
       * do next. Throws an Error when `event` does not have the shape of
       * `Event`.
       * @param {number} now_ms
       * @param {Event} event
       * @returns {Action}
       */
      step(now_ms, event) {
        const ret = wasm.wasmmachine_step(this.__wbg_ptr, now_ms, event);
        if (ret[2]) {
          throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
      }
    };
    if (Symbol.dispose) WasmMachine.prototype[Symbol.dispose] = WasmMachine.prototype.free;
    exports2.WasmMachine = WasmMachine;
    function input_names() {
      const ret = wasm.input_names();
      if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
      }
      return takeFromExternrefTable0(ret[0]);
    }
    exports2.input_names = input_names;
    function install_panic_hook() {
      wasm.install_panic_hook();
    }
    exports2.install_panic_hook = install_panic_hook;
    function version() {
      let deferred1_0;
      let deferred1_1;
      try {
        const ret = wasm.version();
        deferred1_0 = ret[0];
        deferred1_1 = ret[1];
        return getStringFromWasm0(ret[0], ret[1]);
      } finally {
        wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
      }
    }
    exports2.version = version;
    function __wbg_get_imports() {
      const import0 = {
        __proto__: null,
        __wbg_Error_208446807d0d1e30: function(arg0, arg1) {
          const ret = Error(getStringFromWasm0(arg0, arg1));
          return ret;
        },
        __wbg___wbindgen_bigint_get_as_i64_11da4b52cd0aedef: function(arg0, arg1) {
          const v = arg1;
          const ret = typeof v === "bigint" ? v : void 0;
          getDataViewMemory0().setBigInt64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? BigInt(0) : ret, true);
          getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
        },
        __wbg___wbindgen_boolean_get_4f1baf9a00be3c74: function(arg0) {
          const v = arg0;
          const ret = typeof v === "boolean" ? v : void 0;
          return isLikeNone(ret) ? 16777215 : ret ? 1 : 0;
        },
        __wbg___wbindgen_debug_string_f249a2a76caa9a55: function(arg0, arg1) {
          const ret = debugString(arg1);
          const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
          const len1 = WASM_VECTOR_LEN;
          getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
          getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg___wbindgen_in_3f58a9d3b3a7eed2: function(arg0, arg1) {
          const ret = arg0 in arg1;
          return ret;
        },
        __wbg___wbindgen_is_bigint_5fa10641e039d3ef: function(arg0) {
          const ret = typeof arg0 === "bigint";
          return ret;
        },
        __wbg___wbindgen_is_function_741ff2bb612836f5: function(arg0) {
          const ret = typeof arg0 === "function";
          return ret;
        },
        __wbg___wbindgen_is_object_8b968c3ab8e96595: function(arg0) {
          const val = arg0;
          const ret = typeof val === "object" && val !== null;
          return ret;
        },
        __wbg___wbindgen_is_string_fc456fee5d3317de: function(arg0) {
          const ret = typeof arg0 === "string";
          return ret;
        },
        __wbg___wbindgen_is_undefined_be5b34249ff1fc15: function(arg0) {
          const ret = arg0 === void 0;
          return ret;
        },
        __wbg___wbindgen_jsval_eq_38d7bfbe4cc84039: function(arg0, arg1) {
          const ret = arg0 === arg1;
          return ret;
        },
        __wbg___wbindgen_jsval_loose_eq_b2f214e2e4b30e36: function(arg0, arg1) {
          const ret = arg0 == arg1;
          return ret;
        },
        __wbg___wbindgen_number_get_934b640d0889af78: function(arg0, arg1) {
          const obj = arg1;
          const ret = typeof obj === "number" ? obj : void 0;
          getDataViewMemory0().setFloat64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? 0 : ret, true);
          getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
        },
        __wbg___wbindgen_string_get_7ce8eee7fd327545: function(arg0, arg1) {
          const obj = arg1;
          const ret = typeof obj === "string" ? obj : void 0;
          var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
          var len1 = WASM_VECTOR_LEN;
          getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
          getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg___wbindgen_throw_4c88d8bf264fd984: function(arg0, arg1) {
          throw new Error(getStringFromWasm0(arg0, arg1));
        },
        __wbg_call_40b008ba32f73991: function() {
          return handleError(function(arg0, arg1) {
            const ret = arg0.call(arg1);
            return ret;
          }, arguments);
        },
        __wbg_done_57e08d0be6e30c02: function(arg0) {
          const ret = arg0.done;
          return ret;
        },
        __wbg_entries_7bb1459bd9b5c2b9: function(arg0) {
          const ret = Object.entries(arg0);
          return ret;
        },
        __wbg_get_635eea311fa1a291: function() {
          return handleError(function(arg0, arg1) {
            const ret = Reflect.get(arg0, arg1);
            return ret;
          }, arguments);
        },
        __wbg_get_d7176cfb76d71114: function(arg0, arg1) {
          const ret = arg0[arg1 >>> 0];
          return ret;
        },
        __wbg_get_unchecked_e6325ad374eff861: function(arg0, arg1) {
          const ret = arg0[arg1 >>> 0];
          return ret;
        },
        __wbg_get_with_ref_key_fc601247060b7204: function(arg0, arg1) {
          const ret = arg0[arg1];
          return ret;
        },
        __wbg_instanceof_ArrayBuffer_12cdaa4161423e6b: function(arg0) {
          let result;
          try {
            result = arg0 instanceof ArrayBuffer;
          } catch (_) {
            result = false;
          }
          const ret = result;
          return ret;
        },
        __wbg_instanceof_Error_74e3cca0c4a69161: function(arg0) {
          let result;
          try {
            result = arg0 instanceof Error;
          } catch (_) {
            result = false;
          }
          const ret = result;
          return ret;
        },
        __wbg_instanceof_Map_0b4fc8b62e73f163: function(arg0) {
          let result;
          try {
            result = arg0 instanceof Map;
          } catch (_) {
            result = false;
          }
          const ret = result;
          return ret;
        },
        __wbg_instanceof_Uint8Array_d7aeb0dcb3108fea: function(arg0) {
          let result;
          try {
            result = arg0 instanceof Uint8Array;
          } catch (_) {
            result = false;
          }
          const ret = result;
          return ret;
        },
        __wbg_isArray_bcf1376d0d732d08: function(arg0) {
          const ret = Array.isArray(arg0);
          return ret;
        },
        __wbg_isSafeInteger_1a35ba4d31e71d38: function(arg0) {
          const ret = Number.isSafeInteger(arg0);
          return ret;
        },
        __wbg_iterator_e4c5e8f68ada7b58: function() {
          const ret = Symbol.iterator;
          return ret;
        },
        __wbg_length_186163212ffe79c3: function(arg0) {
          const ret = arg0.length;
          return ret;
        },
        __wbg_length_b03a0fabb109b1e9: function(arg0) {
          const ret = arg0.length;
          return ret;
        },
        __wbg_message_43d8c8f1d543a349: function(arg0) {
          const ret = arg0.message;
          return ret;
        },
        __wbg_new_13de428334042d26: function(arg0) {
          const ret = new Uint8Array(arg0);
          return ret;
        },
        __wbg_new_37eb45aaf5eeb820: function() {
          const ret = new Array();
          return ret;
        },
        __wbg_new_7075786089b89c5e: function() {
          const ret = /* @__PURE__ */ new Map();
          return ret;
        },
        __wbg_new_cd4348290afae586: function() {
          const ret = new Object();
          return ret;
        },
        __wbg_next_178c1651c11432b3: function(arg0) {
          const ret = arg0.next;
          return ret;
        },
        __wbg_next_af5ac6a08bb0a717: function() {
          return handleError(function(arg0) {
            const ret = arg0.next();
            return ret;
          }, arguments);
        },
        __wbg_prototypesetcall_13162965d1fe7aa3: function(arg0, arg1, arg2) {
          Uint8Array.prototype.set.call(getArrayU8FromWasm0(arg0, arg1), arg2);
        },
        __wbg_set_8282f7e0d2d01336: function(arg0, arg1, arg2) {
          const ret = arg0.set(arg1, arg2);
          return ret;
        },
        __wbg_set_d2d33b52458e984a: function(arg0, arg1, arg2) {
          arg0[arg1 >>> 0] = arg2;
        },
        __wbg_set_e4b9a833d288759a: function(arg0, arg1, arg2) {
          arg0[arg1] = arg2;
        },
        __wbg_value_e0f328965e184931: function(arg0) {
          const ret = arg0.value;
          return ret;
        },
        __wbindgen_generic_0000000000000001: function(arg0) {
          const ret = arg0;
          return ret;
        },
        __wbindgen_generic_0000000000000002: function(arg0) {
          const ret = arg0;
          return ret;
        },
        __wbindgen_generic_0000000000000003: function(arg0, arg1) {
          const ret = getStringFromWasm0(arg0, arg1);
          return ret;
        },
        __wbindgen_generic_0000000000000004: function(arg0) {
          const ret = BigInt.asUintN(64, arg0);
          return ret;
        },
        __wbindgen_init_externref_table: function() {
          const table = wasm.__wbindgen_externrefs;
          table.set(0, void 0);
          table.set(1024, void 0);
          table.set(1025, null);
          table.set(1026, true);
          table.set(1027, false);
        }
      };
      return {
        __proto__: null,
        "./ecs_runner_core_bg.js": import0
      };
    }
    var WasmMachineFinalization = typeof FinalizationRegistry === "undefined" ? { register: () => {
    }, unregister: () => {
    } } : new FinalizationRegistry((ptr) => wasm.__wbg_wasmmachine_free(ptr, 1));
    function addToExternrefTable0(obj) {
      const idx = wasm.__externref_table_alloc();
      wasm.__wbindgen_externrefs.set(idx, obj);
      return idx;
    }
    function debugString(val) {
      switch (typeof val) {
        // primitive types
        case "number":
        case "boolean":
        case "undefined":
          return `${val}`;
        case "string":
          return JSON.stringify(val);
        case "bigint":
          return `${val}n`;
        case "symbol":
          return val.description !== void 0 ? `Symbol(${val.description})` : "Symbol";
        case "function":
          return typeof val.name === "string" && val.name !== "" ? `Function(${val.name})` : "Function";
        case "object": {
          if (val === null) {
            return "null";
          }
          if (Array.isArray(val)) {
            return "[" + Array.from(val, debugString).join(", ") + "]";
          }
          if (val instanceof Error) {
            return `${val.name}: ${val.message}
${val.stack}`;
          }
          const toStringOutput = toString.call(val);
          const className = /\[object ([^\]]+)\]/.exec(toStringOutput)?.[1];
          if (className === void 0) {
            return toStringOutput;
          }
          if (className === "Object") {
            try {
              return "Object(" + JSON.stringify(val) + ")";
            } catch (_) {
              return "Object";
            }
          }
          return className;
        }
      }
    }
    function getArrayU8FromWasm0(ptr, len) {
      ptr = ptr >>> 0;
      return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
    }
    var cachedDataViewMemory0 = null;
    function getDataViewMemory0() {
      if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || cachedDataViewMemory0.buffer.detached === void 0 && cachedDataViewMemory0.buffer !== wasm.memory.buffer) {
        cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
      }
      return cachedDataViewMemory0;
    }
    function getStringFromWasm0(ptr, len) {
      ptr = ptr >>> 0;
      return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));
    }
    var cachedUint8ArrayMemory0 = null;
    function getUint8ArrayMemory0() {
      if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {
        cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
      }
      return cachedUint8ArrayMemory0;
    }
    function handleError(f, args) {
      try {
        return f.apply(this, args);
      } catch (e) {
        const idx = addToExternrefTable0(e);
        wasm.__wbindgen_exn_store(idx);
      }
    }
    function isLikeNone(x) {
      return x === void 0 || x === null;
    }
    function passStringToWasm0(arg, malloc, realloc) {
      if (realloc === void 0) {
        const buf = cachedTextEncoder.encode(arg);
        const ptr2 = malloc(buf.length, 1) >>> 0;
        getUint8ArrayMemory0().subarray(ptr2, ptr2 + buf.length).set(buf);
        WASM_VECTOR_LEN = buf.length;
        return ptr2;
      }
      let len = arg.length;
      let ptr = malloc(len, 1) >>> 0;
      const mem = getUint8ArrayMemory0();
      let offset = 0;
      for (; offset < len; offset++) {
        const code = arg.charCodeAt(offset);
        if (code > 127) break;
        mem[ptr + offset] = code;
      }
      if (offset !== len) {
        if (offset !== 0) {
          arg = arg.slice(offset);
        }
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
        const ret = cachedTextEncoder.encodeInto(arg, view);
        offset += ret.written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
      }
      WASM_VECTOR_LEN = offset;
      return ptr;
    }
    function takeFromExternrefTable0(idx) {
      const value = wasm.__wbindgen_externrefs.get(idx);
      wasm.__externref_table_dealloc(idx);
      return value;
    }
    var cachedTextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
    cachedTextDecoder.decode();
    function decodeText(bytes) {
      return cachedTextDecoder.decode(bytes);
    }
    var cachedTextEncoder = new TextEncoder();
    if (!("encodeInto" in cachedTextEncoder)) {
      cachedTextEncoder.encodeInto = function(arg, view) {
        const buf = cachedTextEncoder.encode(arg);
        view.set(buf);
        return {
          read: arg.length,
          written: buf.length
        };
      };
    }
    var WASM_VECTOR_LEN = 0;
    var wasmPath = `${__dirname}/ecs_runner_core_bg.wasm`;
    var wasmBytes = require("fs").readFileSync(wasmPath);
    var wasmModule = new WebAssembly.Module(wasmBytes);
    var wasmInstance = new WebAssembly.Instance(wasmModule, __wbg_get_imports());
    var wasm = wasmInstance.exports;
    wasm.__wbindgen_start();
  }
});

// node_modules/@actions/core/lib/command.js
var os = __toESM(require("os"), 1);

// node_modules/@actions/core/lib/utils.js
function toCommandValue(input) {
  if (input === null || input === void 0) {
    return "";
  } else if (typeof input === "string" || input instanceof String) {
    return input;
  }
  return JSON.stringify(input);
}
function toCommandProperties(annotationProperties) {
  if (!Object.keys(annotationProperties).length) {
    return {};
  }
  return {
    title: annotationProperties.title,
    file: annotationProperties.file,
    line: annotationProperties.startLine,
    endLine: annotationProperties.endLine,
    col: annotationProperties.startColumn,
    endColumn: annotationProperties.endColumn
  };
}

// node_modules/@actions/core/lib/command.js
function issueCommand(command, properties, message) {
  const cmd = new Command(command, properties, message);
  process.stdout.write(cmd.toString() + os.EOL);
}
function issue(name, message = "") {
  issueCommand(name, {}, message);
}
var CMD_STRING = "::";
var Command = class {
  constructor(command, properties, message) {
    if (!command) {
      command = "missing.command";
    }
    this.command = command;
    this.properties = properties;
    this.message = message;
  }
  toString() {
    let cmdStr = CMD_STRING + this.command;
    if (this.properties && Object.keys(this.properties).length > 0) {
      cmdStr += " ";
      let first = true;
      for (const key in this.properties) {
        if (this.properties.hasOwnProperty(key)) {
          const val = this.properties[key];
          if (val) {
            if (first) {
              first = false;
            } else {
              cmdStr += ",";
            }
            cmdStr += `${key}=${escapeProperty(val)}`;
          }
        }
      }
    }
    cmdStr += `${CMD_STRING}${escapeData(this.message)}`;
    return cmdStr;
  }
};
function escapeData(s) {
  return toCommandValue(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function escapeProperty(s) {
  return toCommandValue(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/:/g, "%3A").replace(/,/g, "%2C");
}

// node_modules/@actions/core/lib/file-command.js
var crypto = __toESM(require("crypto"), 1);
var fs = __toESM(require("fs"), 1);
var os2 = __toESM(require("os"), 1);
function issueFileCommand(command, message) {
  const filePath = process.env[`GITHUB_${command}`];
  if (!filePath) {
    throw new Error(`Unable to find environment variable for file command ${command}`);
  }
  if (!fs.existsSync(filePath)) {
    throw new Error(`Missing file at path: ${filePath}`);
  }
  fs.appendFileSync(filePath, `${toCommandValue(message)}${os2.EOL}`, {
    encoding: "utf8"
  });
}
function prepareKeyValueMessage(key, value) {
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  const convertedValue = toCommandValue(value);
  if (key.includes(delimiter)) {
    throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
  }
  if (convertedValue.includes(delimiter)) {
    throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
  }
  return `${key}<<${delimiter}${os2.EOL}${convertedValue}${os2.EOL}${delimiter}`;
}

// node_modules/@actions/core/lib/core.js
var os4 = __toESM(require("os"), 1);

// node_modules/@actions/core/lib/summary.js
var import_os = require("os");
var import_fs = require("fs");
var __awaiter = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var { access, appendFile, writeFile } = import_fs.promises;
var SUMMARY_ENV_VAR = "GITHUB_STEP_SUMMARY";
var Summary = class {
  constructor() {
    this._buffer = "";
  }
  /**
   * Finds the summary file path from the environment, rejects if env var is not found or file does not exist
   * Also checks r/w permissions.
   *
   * @returns step summary file path
   */
  filePath() {
    return __awaiter(this, void 0, void 0, function* () {
      if (this._filePath) {
        return this._filePath;
      }
      const pathFromEnv = process.env[SUMMARY_ENV_VAR];
      if (!pathFromEnv) {
        throw new Error(`Unable to find environment variable for $${SUMMARY_ENV_VAR}. Check if your runtime environment supports job summaries.`);
      }
      try {
        yield access(pathFromEnv, import_fs.constants.R_OK | import_fs.constants.W_OK);
      } catch (_a) {
        throw new Error(`Unable to access summary file: '${pathFromEnv}'. Check if the file has correct read/write permissions.`);
      }
      this._filePath = pathFromEnv;
      return this._filePath;
    });
  }
  /**
   * Wraps content in an HTML tag, adding any HTML attributes
   *
   * @param {string} tag HTML tag to wrap
   * @param {string | null} content content within the tag
   * @param {[attribute: string]: string} attrs key-value list of HTML attributes to add
   *
   * @returns {string} content wrapped in HTML element
   */
  wrap(tag, content, attrs = {}) {
    const htmlAttrs = Object.entries(attrs).map(([key, value]) => ` ${key}="${value}"`).join("");
    if (!content) {
      return `<${tag}${htmlAttrs}>`;
    }
    return `<${tag}${htmlAttrs}>${content}</${tag}>`;
  }
  /**
   * Writes text in the buffer to the summary buffer file and empties buffer. Will append by default.
   *
   * @param {SummaryWriteOptions} [options] (optional) options for write operation
   *
   * @returns {Promise<Summary>} summary instance
   */
  write(options) {
    return __awaiter(this, void 0, void 0, function* () {
      const overwrite = !!(options === null || options === void 0 ? void 0 : options.overwrite);
      const filePath = yield this.filePath();
      const writeFunc = overwrite ? writeFile : appendFile;
      yield writeFunc(filePath, this._buffer, { encoding: "utf8" });
      return this.emptyBuffer();
    });
  }
  /**
   * Clears the summary buffer and wipes the summary file
   *
   * @returns {Summary} summary instance
   */
  clear() {
    return __awaiter(this, void 0, void 0, function* () {
      return this.emptyBuffer().write({ overwrite: true });
    });
  }
  /**
   * Returns the current summary buffer as a string
   *
   * @returns {string} string of summary buffer
   */
  stringify() {
    return this._buffer;
  }
  /**
   * If the summary buffer is empty
   *
   * @returns {boolen} true if the buffer is empty
   */
  isEmptyBuffer() {
    return this._buffer.length === 0;
  }
  /**
   * Resets the summary buffer without writing to summary file
   *
   * @returns {Summary} summary instance
   */
  emptyBuffer() {
    this._buffer = "";
    return this;
  }
  /**
   * Adds raw text to the summary buffer
   *
   * @param {string} text content to add
   * @param {boolean} [addEOL=false] (optional) append an EOL to the raw text (default: false)
   *
   * @returns {Summary} summary instance
   */
  addRaw(text, addEOL = false) {
    this._buffer += text;
    return addEOL ? this.addEOL() : this;
  }
  /**
   * Adds the operating system-specific end-of-line marker to the buffer
   *
   * @returns {Summary} summary instance
   */
  addEOL() {
    return this.addRaw(import_os.EOL);
  }
  /**
   * Adds an HTML codeblock to the summary buffer
   *
   * @param {string} code content to render within fenced code block
   * @param {string} lang (optional) language to syntax highlight code
   *
   * @returns {Summary} summary instance
   */
  addCodeBlock(code, lang) {
    const attrs = Object.assign({}, lang && { lang });
    const element = this.wrap("pre", this.wrap("code", code), attrs);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML list to the summary buffer
   *
   * @param {string[]} items list of items to render
   * @param {boolean} [ordered=false] (optional) if the rendered list should be ordered or not (default: false)
   *
   * @returns {Summary} summary instance
   */
  addList(items, ordered = false) {
    const tag = ordered ? "ol" : "ul";
    const listItems = items.map((item) => this.wrap("li", item)).join("");
    const element = this.wrap(tag, listItems);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML table to the summary buffer
   *
   * @param {SummaryTableCell[]} rows table rows
   *
   * @returns {Summary} summary instance
   */
  addTable(rows) {
    const tableBody = rows.map((row) => {
      const cells = row.map((cell) => {
        if (typeof cell === "string") {
          return this.wrap("td", cell);
        }
        const { header, data, colspan, rowspan } = cell;
        const tag = header ? "th" : "td";
        const attrs = Object.assign(Object.assign({}, colspan && { colspan }), rowspan && { rowspan });
        return this.wrap(tag, data, attrs);
      }).join("");
      return this.wrap("tr", cells);
    }).join("");
    const element = this.wrap("table", tableBody);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds a collapsable HTML details element to the summary buffer
   *
   * @param {string} label text for the closed state
   * @param {string} content collapsable content
   *
   * @returns {Summary} summary instance
   */
  addDetails(label, content) {
    const element = this.wrap("details", this.wrap("summary", label) + content);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML image tag to the summary buffer
   *
   * @param {string} src path to the image you to embed
   * @param {string} alt text description of the image
   * @param {SummaryImageOptions} options (optional) addition image attributes
   *
   * @returns {Summary} summary instance
   */
  addImage(src, alt, options) {
    const { width, height } = options || {};
    const attrs = Object.assign(Object.assign({}, width && { width }), height && { height });
    const element = this.wrap("img", null, Object.assign({ src, alt }, attrs));
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML section heading element
   *
   * @param {string} text heading text
   * @param {number | string} [level=1] (optional) the heading level, default: 1
   *
   * @returns {Summary} summary instance
   */
  addHeading(text, level) {
    const tag = `h${level}`;
    const allowedTag = ["h1", "h2", "h3", "h4", "h5", "h6"].includes(tag) ? tag : "h1";
    const element = this.wrap(allowedTag, text);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML thematic break (<hr>) to the summary buffer
   *
   * @returns {Summary} summary instance
   */
  addSeparator() {
    const element = this.wrap("hr", null);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML line break (<br>) to the summary buffer
   *
   * @returns {Summary} summary instance
   */
  addBreak() {
    const element = this.wrap("br", null);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML blockquote to the summary buffer
   *
   * @param {string} text quote text
   * @param {string} cite (optional) citation url
   *
   * @returns {Summary} summary instance
   */
  addQuote(text, cite) {
    const attrs = Object.assign({}, cite && { cite });
    const element = this.wrap("blockquote", text, attrs);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML anchor tag to the summary buffer
   *
   * @param {string} text link text/content
   * @param {string} href hyperlink
   *
   * @returns {Summary} summary instance
   */
  addLink(text, href) {
    const element = this.wrap("a", text, { href });
    return this.addRaw(element).addEOL();
  }
};
var _summary = new Summary();
var summary = _summary;

// node_modules/@actions/core/lib/platform.js
var import_os2 = __toESM(require("os"), 1);
var platform = import_os2.default.platform();
var arch = import_os2.default.arch();

// node_modules/@actions/core/lib/core.js
var ExitCode;
(function(ExitCode2) {
  ExitCode2[ExitCode2["Success"] = 0] = "Success";
  ExitCode2[ExitCode2["Failure"] = 1] = "Failure";
})(ExitCode || (ExitCode = {}));
function setSecret(secret) {
  issueCommand("add-mask", {}, secret);
}
function getInput(name, options) {
  const val = process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "";
  if (options && options.required && !val) {
    throw new Error(`Input required and not supplied: ${name}`);
  }
  if (options && options.trimWhitespace === false) {
    return val;
  }
  return val.trim();
}
function setOutput(name, value) {
  const filePath = process.env["GITHUB_OUTPUT"] || "";
  if (filePath) {
    return issueFileCommand("OUTPUT", prepareKeyValueMessage(name, value));
  }
  process.stdout.write(os4.EOL);
  issueCommand("set-output", { name }, toCommandValue(value));
}
function setFailed(message) {
  process.exitCode = ExitCode.Failure;
  error(message);
}
function debug(message) {
  issueCommand("debug", {}, message);
}
function error(message, properties = {}) {
  issueCommand("error", toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
function warning(message, properties = {}) {
  issueCommand("warning", toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
function notice(message, properties = {}) {
  issueCommand("notice", toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
function info(message) {
  process.stdout.write(message + os4.EOL);
}
function startGroup(name) {
  issue("group", name);
}
function endGroup() {
  issue("endgroup");
}

// action/src/driver.ts
var NEVER = new AbortController().signal;
async function drive(deps) {
  let event = { type: "start" };
  let cancelled = false;
  const flight = new Flight(deps);
  for (; ; ) {
    const action = deps.machine.step(deps.now(), event);
    for (const secret of action.secrets) deps.setSecret(secret);
    for (const line of action.logs) deps.log(line.level, line.message);
    const next = action.next;
    if (next.kind === "done" || next.kind === "failed") {
      flight.abandon();
      await finish(deps, next);
      return next.kind;
    }
    const cancel = cancelled ? NEVER : deps.cancel;
    if (!cancel.aborted) for (const request of next.requests) flight.start(request);
    const happened = await flight.next(next.wake_ms, cancel);
    if (happened === "cancel") {
      flight.abandon();
      event = { type: "cancel", signal: String(deps.cancel.reason) };
      cancelled = true;
    } else if (happened === "woke") {
      event = { type: "woke" };
    } else {
      event = { type: "responses", responses: happened };
    }
  }
}
var Flight = class {
  constructor(deps) {
    this.deps = deps;
  }
  deps;
  arrived = [];
  /** Requests started in this generation; abandon() starts a new one. */
  inFlight = 0;
  generation = 0;
  /** Aborts this generation's requests (the run ended, or a cancel). */
  stopAll = new AbortController();
  /** Wakes the current next() when an answer arrives. */
  notify;
  start(request) {
    const generation = this.generation;
    this.inFlight += 1;
    this.deps.send(request, this.stopAll.signal).catch((error2) => ({ id: request.id, status: 0, error: String(error2) })).then((response) => {
      if (generation !== this.generation) return;
      this.inFlight -= 1;
      this.arrived.push(response);
      this.notify?.();
    });
  }
  /** Drops every request in flight: their answers are never delivered. */
  abandon() {
    this.stopAll.abort(new Error("abandoned"));
    this.stopAll = new AbortController();
    this.generation += 1;
    this.inFlight = 0;
    this.arrived.length = 0;
  }
  /**
   * The answers that have arrived, as soon as there is at least one;
   * "woke" when `wakeMs` passes first; "cancel" when `cancel` aborts.
   */
  async next(wakeMs, cancel) {
    if (cancel.aborted) return "cancel";
    if (this.arrived.length > 0) return this.arrived.splice(0);
    if (this.inFlight === 0 && wakeMs === null) {
      throw new Error("the core waits for nothing: no request in flight and no wake time");
    }
    const stop = new AbortController();
    const woke = wakeMs === null ? new Promise(() => {
    }) : this.deps.sleep(wakeMs, stop.signal).then(() => "woke");
    const answered = new Promise((resolve) => {
      this.notify = () => resolve("answered");
    });
    let onAbort = () => {
    };
    const aborted = new Promise((resolve) => {
      onAbort = () => resolve("cancel");
      cancel.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const first = await Promise.race([answered, woke, aborted]);
      if (first === "cancel" || cancel.aborted) return "cancel";
      if (this.arrived.length > 0) return this.arrived.splice(0);
      return "woke";
    } finally {
      this.notify = void 0;
      stop.abort();
      cancel.removeEventListener("abort", onAbort);
    }
  }
};
async function finish(deps, next) {
  for (const [name, value] of Object.entries(next.outputs)) deps.setOutput(name, value);
  if (next.summary !== "") await deps.appendSummary(next.summary);
  if (next.kind === "failed") deps.setFailed(next.message);
}

// action/src/errors.ts
function errorMessage(error2) {
  if (error2 instanceof Error) return error2.message;
  if (typeof error2 === "string") return error2;
  try {
    return JSON.stringify(error2) ?? String(error2);
  } catch {
    return String(error2);
  }
}

// action/src/inputs.ts
var import_node_crypto = require("node:crypto");
function readConfig(names, env = process.env, getInput2 = getInput) {
  const inputs = {};
  for (const name of names) inputs[name] = getInput2(name);
  return {
    inputs,
    env: stringsOnly(env),
    // Makes the runner name unique; Config asks for at least 16 bytes from
    // a cryptographic source.
    random: (0, import_node_crypto.randomBytes)(16).toString("hex")
  };
}
function stringsOnly(env) {
  const out = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

// action/src/signals.ts
function watchSignals(source = process) {
  const controller = new AbortController();
  const onSignal = (signal) => {
    if (!controller.signal.aborted) controller.abort(signal);
  };
  const names = ["SIGINT", "SIGTERM"];
  for (const name of names) source.on(name, onSignal);
  return {
    cancel: controller.signal,
    dispose() {
      for (const name of names) source.off(name, onSignal);
    }
  };
}

// action/src/sleep.ts
function sleep(ms, cancel) {
  return new Promise((resolve) => {
    if (cancel.aborted) return resolve();
    const wake = () => {
      clearTimeout(timer);
      cancel.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    cancel.addEventListener("abort", wake, { once: true });
  });
}

// action/src/transport.ts
var import_node_crypto2 = require("node:crypto");
var import_promises = require("node:fs/promises");
var import_node_url = require("node:url");
async function send(request, cancel) {
  if (request.url.startsWith("file:")) return read(request);
  if (request.url === "ecs-runner:sign-rs256") return signRs256(request);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${request.timeout_ms} ms`)),
    request.timeout_ms
  );
  const onCancel = () => controller.abort(cancel.reason);
  if (cancel.aborted) onCancel();
  else cancel.addEventListener("abort", onCancel, { once: true });
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      // fetch refuses a body on GET and HEAD; a DELETE never needs one.
      ...hasBody(request.method) ? { body: request.body } : {},
      // Answers go to the core as they are, redirects included.
      redirect: "manual",
      signal: controller.signal
    });
    const headers = {};
    response.headers.forEach((value, name) => {
      const earlier = headers[name];
      headers[name] = earlier === void 0 ? value : `${earlier}, ${value}`;
    });
    const body = await response.text();
    return { id: request.id, status: response.status, headers, body };
  } catch (error2) {
    return { id: request.id, status: 0, error: describe(error2) };
  } finally {
    clearTimeout(timer);
    cancel.removeEventListener("abort", onCancel);
  }
}
async function read(request) {
  try {
    const body = await (0, import_promises.readFile)((0, import_node_url.fileURLToPath)(request.url), "utf8");
    return { id: request.id, status: 200, headers: {}, body };
  } catch (error2) {
    return { id: request.id, status: 0, error: errorMessage(error2) };
  }
}
function signRs256(request) {
  try {
    const { key, data } = JSON.parse(request.body);
    const signature = (0, import_node_crypto2.sign)("sha256", new TextEncoder().encode(data), (0, import_node_crypto2.createPrivateKey)(key));
    return { id: request.id, status: 200, headers: {}, body: signature.toString("base64url") };
  } catch (error2) {
    return { id: request.id, status: 0, error: errorMessage(error2).split("\n")[0] ?? "cannot sign" };
  }
}
function hasBody(method) {
  const m = method.toUpperCase();
  return m !== "GET" && m !== "HEAD" && m !== "DELETE";
}
function describe(error2) {
  const message = errorMessage(error2);
  const cause = error2 instanceof Error ? error2.cause : void 0;
  if (cause === void 0) return message;
  const code = codeOf(cause);
  let reason = errorMessage(cause);
  if (code !== void 0 && !reason.includes(code)) {
    reason = reason === "" ? code : `${reason} (${code})`;
  }
  return reason === "" ? message : `${message}: ${reason}`;
}
function codeOf(value) {
  if (typeof value !== "object" || value === null || !("code" in value)) return void 0;
  return typeof value.code === "string" ? value.code : void 0;
}

// action/src/main.ts
var LOG = {
  debug: (m) => debug(m),
  info: (m) => info(m),
  notice: (m) => notice(m),
  warning: (m) => warning(m),
  error: (m) => error(m),
  group: (m) => startGroup(m),
  endgroup: () => endGroup()
};
async function run() {
  const signals = watchSignals();
  try {
    const wasm = await Promise.resolve().then(() => __toESM(require_ecs_runner_core()));
    const machine = new wasm.WasmMachine(readConfig(wasm.input_names()));
    await drive({
      machine,
      send,
      sleep,
      now: Date.now,
      setSecret,
      // A level this shell does not know (a newer core) is still printed.
      log: (level, message) => (LOG[level] ?? info)(message),
      setOutput,
      appendSummary: async (markdown) => {
        if (process.env["GITHUB_STEP_SUMMARY"]) await summary.addRaw(markdown, true).write();
      },
      setFailed,
      cancel: signals.cancel
    });
  } catch (error2) {
    setFailed(`ecs-runner internal error: ${errorMessage(error2)}`);
  } finally {
    signals.dispose();
  }
}

// action/src/index.ts
void run();
