/**
 * The part of koa-router 14 this server uses. The package ships no types (its TypeScript successor
 * is @koa/router 15); these follow lib/router.js and lib/layer.js of 14.0.0.
 */
declare module 'koa-router' {
  import type { DefaultContext, DefaultState, Middleware, ParameterizedContext } from 'koa';

  namespace Router {
    interface RouterOptions {
      prefix?: string;
      /** Only run the last matched route's middleware. */
      exclusive?: boolean;
      /** Trailing-slash matching (path-to-regexp v8's `trailing`, inverted). */
      strict?: boolean;
      sensitive?: boolean;
    }
    /** A registered route, as found in `ctx.matched`. */
    interface Layer {
      path: string;
      /** Upper-case methods; GET routes also list HEAD. */
      methods: string[];
    }
    interface RouterParamContext {
      /** Decoded named path parameters. */
      params: Record<string, string>;
      /** Every layer whose path matched, whatever its method (set by `routes()`). */
      matched?: Layer[];
      _matchedRoute?: string;
    }
    type RouterContext<StateT = DefaultState, ContextT = DefaultContext> = ParameterizedContext<StateT, ContextT & RouterParamContext>;
    type RouterMiddleware<StateT = DefaultState, ContextT = DefaultContext> = Middleware<StateT, ContextT & RouterParamContext>;
  }

  class Router<StateT = DefaultState, ContextT = DefaultContext> {
    constructor(opts?: Router.RouterOptions);
    get(path: string, ...middleware: Router.RouterMiddleware<StateT, ContextT>[]): this;
    post(path: string, ...middleware: Router.RouterMiddleware<StateT, ContextT>[]): this;
    put(path: string, ...middleware: Router.RouterMiddleware<StateT, ContextT>[]): this;
    patch(path: string, ...middleware: Router.RouterMiddleware<StateT, ContextT>[]): this;
    delete(path: string, ...middleware: Router.RouterMiddleware<StateT, ContextT>[]): this;
    all(path: string, ...middleware: Router.RouterMiddleware<StateT, ContextT>[]): this;
    use(...middleware: Router.RouterMiddleware<StateT, ContextT>[]): this;
    routes(): Middleware<StateT, ContextT & Router.RouterParamContext>;
    allowedMethods(options?: { throw?: boolean }): Middleware<StateT, ContextT & Router.RouterParamContext>;
  }

  export = Router;
}
