// A minimal W3C WebDriver client over fetch: enough to drive the app window
// through tauri-driver without pulling in a WebDriver library.

const ELEMENT = 'element-6066-11e4-a07f-4ebad9b84876';

export class WebDriver {
  /** @param {string} base e.g. http://127.0.0.1:4444 */
  constructor(base) {
    this.base = base;
    /** @type {string | null} */
    this.session = null;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {object} [body]
   */
  async call(method, path, body) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(`${method} ${path} -> ${response.status}: ${JSON.stringify(payload.value ?? payload)}`);
    }
    return payload.value;
  }

  /** Starts the app. @param {string} application @param {string[]} [args] */
  async start(application, args = []) {
    const value = await this.call('POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application, args } } },
    });
    this.session = value.sessionId;
  }

  /**
   * Starts a browser session with `capabilities` (WebKitWebDriver's own
   * MiniBrowser, say) and opens `url` in it.
   * @param {object} capabilities
   * @param {string} url
   */
  async open(capabilities, url) {
    const value = await this.call('POST', '/session', { capabilities: { alwaysMatch: capabilities } });
    this.session = value.sessionId;
    await this.call('POST', this.s('/url'), { url });
  }

  /** @param {string} path */
  s(path) {
    return `/session/${this.session}${path}`;
  }

  /** @param {string} css @returns {Promise<string>} element id */
  async find(css) {
    const value = await this.call('POST', this.s('/element'), { using: 'css selector', value: css });
    const id = value?.[ELEMENT] ?? (value && Object.values(value)[0]);
    if (!id) throw new Error(`no element ${css}: ${JSON.stringify(value)}`);
    return id;
  }

  /** The element's textContent (WebKit's rendered-text command is unreliable for nested spans). @param {string} css */
  async text(css) {
    const text = await this.execute('const node = document.querySelector(arguments[0]); return node ? node.textContent : null;', [css]);
    if (text === null) throw new Error(`no element ${css}`);
    return text;
  }

  /** @param {string} css @param {string} text */
  async type(css, text) {
    await this.call('POST', this.s(`/element/${await this.find(css)}/value`), { text });
  }

  /** @param {string} css */
  async click(css) {
    await this.call('POST', this.s(`/element/${await this.find(css)}/click`), {});
  }

  /** @param {string} script @param {unknown[]} [args] */
  async execute(script, args = []) {
    return this.call('POST', this.s('/execute/sync'), { script, args });
  }

  /** @returns {Promise<Buffer>} PNG */
  async screenshot() {
    return Buffer.from(await this.call('GET', this.s('/screenshot')), 'base64');
  }

  /** Closes the current window, as the user closing it would. */
  async closeWindow() {
    return this.call('DELETE', this.s('/window'));
  }

  async end() {
    if (!this.session) return;
    await this.call('DELETE', this.s('')).catch(() => {});
    this.session = null;
  }

  /**
   * Polls `check` until it returns a truthy value or `timeoutMs` passes.
   * @template T
   * @param {() => Promise<T>} check
   * @param {string} what
   * @param {number} [timeoutMs]
   * @returns {Promise<T>}
   */
  async until(check, what, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        last = await check();
        if (last) return last;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
