/**
 * Remote<T> type-checks like the remote object: checked by `tsc --noEmit` (npm test), never run.
 * Each `// @ts-expect-error` line proves a mistake is caught; if the types stopped catching it,
 * tsc would report the unused directive.
 */
import { connect, type Remote, type RemoteData } from 'remoteobj';
import { assert, type Equal, expectType } from './expect';

class Item {
  constructor(
    public name: string,
    public price: number,
  ) {}
  label(): string {
    return `${this.name}: ${this.price}`;
  }
}

class Base {
  describe(): string {
    return 'base';
  }
}

class Shop extends Base {
  title = 'shop';
  items: Item[] = [];
  tags: readonly string[] = [];
  pair: [string, number] = ['a', 1];
  owner?: { name: string; email: string | null };
  manager: { name: string; shop: Shop } | null = null;
  stock = new Map<string, number>();
  codes = new Set<number>();
  opened = new Date();
  meta: any = {};
  data: unknown = null;
  readonly id: number = 1;
  on = false;
  onSale?: (percent: number) => void;
  _secret = 1;

  toggle(state = true): this {
    this.on = state;
    return this;
  }
  self(): Shop {
    return this;
  }
  add(name: string, price: number): Item {
    const item = new Item(name, price);
    this.items.push(item);
    return item;
  }
  async load(id: number): Promise<Item> {
    return this.items[id]!;
  }
  async reset(): Promise<this> {
    this.items = [];
    return this;
  }
  find(name: string): Item | undefined {
    return this.items.find((i) => i.name === name);
  }
  maybeSelf(): Shop | null {
    return null;
  }
  total(): number {
    return this.items.reduce((s, i) => s + i.price, 0);
  }
  override describe(): string {
    return 'shop';
  }
}

declare const remote: Remote<Shop>;

/** An Item as it arrives: its data, without its methods (data.typetest.ts has the rules). */
type ItemData = { name: string; price: number };
assert<Equal<RemoteData<Item>, ItemData>>();

export async function properties(): Promise<void> {
  expectType<string>()(await remote.title);
  expectType<boolean>()(await remote.on);
  expectType<number>()(await remote.id);
  expectType<ItemData[]>()(await remote.items);
  expectType<Map<string, number>>()(await remote.stock);
  expectType<Date>()(await remote.opened);
  expectType<unknown>()(await remote.data);
  expectType<any>()(await remote.meta);

  // Chains: one request each, typed all the way.
  expectType<number>()(await remote.items.length);
  expectType<number>()(await remote.opened.getTime());
  expectType<string>()(await remote.title.toUpperCase());

  // @ts-expect-error an unknown member
  void remote.nope;
  // @ts-expect-error names starting with _ are private (the host always refuses them)
  void remote._secret;
  // @ts-expect-error names starting with $ are the proxy's controls
  void remote.$title;
  // @ts-expect-error unknown has no members to chain
  void remote.data.x;

  // A remote value is not its plain type until awaited.
  // @ts-expect-error
  const title: string = remote.title;
  // @ts-expect-error
  const count: number = remote.items.length;
  // @ts-expect-error a remote value is not a plain argument
  remote.add(remote.title, 1);
  void [title, count];
}

export async function optionalAndNullable(): Promise<void> {
  // Awaiting an optional/nullable member gives it with its undefined/null.
  expectType<{ name: string; email: string | null } | undefined>()(await remote.owner);
  // A nested hosted object is plain data too: only a top-level one comes back as the root proxy.
  expectType<{ name: string; shop: RemoteData<Shop> } | null>()(await remote.manager);
  // ...and it still chains (the host throws a TypeError if it really is missing).
  expectType<string>()(await remote.owner.name);
  expectType<string | null>()(await remote.owner.email);
  expectType<string>()(await remote.manager.name);
  // An optional method can be called.
  expectType<void>()(await remote.onSale(10));
  // @ts-expect-error wrong argument type for an optional method
  void remote.onSale('10%');
}

export async function arrays(): Promise<void> {
  // Elements are remote values; with noUncheckedIndexedAccess an index may be out of range, like a plain array.
  expectType<ItemData | undefined>()(await remote.items[0]);
  expectType<string>()(await remote.items[0]!.name);
  expectType<string | undefined>()(await remote.items[0]?.name);
  expectType<string>()(await remote.items[1]!.label());
  expectType<string>()(await remote.items.$key(0).name);
  // Tuples keep each position's type.
  expectType<string>()(await remote.pair[0]);
  expectType<number>()(await remote.pair[1]);
  expectType<string | undefined>()(await remote.tags[0]);
  expectType<string>()(await remote.title[0]!);
  // @ts-expect-error an element has the element's members only
  void remote.items[0]!.nope;
}

export async function methods(): Promise<void> {
  expectType<number>()(await remote.total());
  expectType<ItemData>()(await remote.add('pen', 2));
  expectType<ItemData | undefined>()(await remote.find('pen'));
  // A call chains further: `remote.add(...).price` is one request.
  expectType<number>()(await remote.add('pen', 2).price);
  expectType<string>()(await remote.add('pen', 2).label());
  expectType<string>()(await remote.find('pen').name);
  // Async methods resolve to the inner type, and chain through it.
  expectType<ItemData>()(await remote.load(0));
  expectType<string>()(await remote.load(0).name);

  // @ts-expect-error wrong argument type
  void remote.add('pen', '2');
  // @ts-expect-error missing argument
  void remote.add('pen');
  // @ts-expect-error too many arguments
  void remote.total(1);
  // @ts-expect-error calling a non-method
  void remote.title();
  // @ts-expect-error calling a non-method deeper in the chain
  void remote.items[0]!.name();
  // @ts-expect-error a method is not awaited without calling it
  expectType<() => number>()(await remote.total);
  // @ts-expect-error the result of a call is not its plain type until awaited
  const n: number = remote.total();
  void n;
}

export async function theHostedObjectItself(): Promise<void> {
  // A method returning `this` or the root type resolves to the root proxy (the host answers "self").
  expectType<Remote<Shop>>()(await remote.toggle());
  expectType<Remote<Shop>>()(await remote.self());
  expectType<Remote<Shop>>()(await remote.reset());
  expectType<Remote<Shop> | null>()(await remote.maybeSelf());
  expectType<Remote<Shop>>()(await remote.manager.shop);
  expectType<Remote<Shop>>()(await remote.$get());
  // ...and chains on as the root type.
  expectType<boolean>()(await remote.toggle(false).on);
  expectType<number>()(await remote.toggle().self().add('pen', 1).price);
  // @ts-expect-error toggle takes a boolean
  void remote.toggle('on');
  // A property typed `any` is not mistaken for the hosted object.
  assert<Equal<Awaited<typeof remote.meta>, any>>();
}

export async function controls(): Promise<void> {
  expectType<string>()(await remote.title.$get());
  expectType<string>()(await remote.title.$get({ timeout: 100 }));
  // `default` widens the result.
  expectType<string | number>()(await remote.title.$get({ default: 0 }));
  expectType<Remote<Shop> | null>()(await remote.$get({ default: null }));
  expectType<ItemData | undefined>()(await remote.items[0]!.$get({ default: undefined }));

  expectType<void>()(await remote.$set('title', 'new'));
  expectType<void>()(await remote.$set('owner', undefined));
  expectType<void>()(await remote.items.$set(0, new Item('a', 1)));
  // @ts-expect-error wrong value type
  void remote.$set('title', 1);
  // @ts-expect-error unknown key
  void remote.$set('nope', 1);
  // @ts-expect-error readonly property
  void remote.$set('id', 2);
  // @ts-expect-error methods are not replaced remotely
  void remote.$set('total', () => 1);
  // @ts-expect-error Map's size is readonly
  void remote.stock.$set('size', 1);
  // @ts-expect-error readonly array
  void remote.tags.$set(0, 'x');

  expectType<void>()(await remote.$del('owner'));
  // @ts-expect-error unknown key
  void remote.$del('nope');

  expectType<number>()(await remote.$len());
  expectType<number>()(await remote.items.$len());
  expectType<number>()(await remote.title.$len());

  expectType<boolean>()(await remote.$has('title'));
  expectType<boolean>()(await remote.title.$has('sh'));
  expectType<boolean>()(await remote.stock.$has('pen'));
  expectType<boolean>()(await remote.codes.$has(3));
  expectType<boolean>()(await remote.tags.$has('x'));
  // @ts-expect-error a Map<string, ...> has string keys
  void remote.stock.$has(1);
  // @ts-expect-error a string contains strings
  void remote.title.$has(1);

  expectType<unknown>()(await remote.$passto('Object.keys'));
  expectType<string[]>()(await remote.$passto<string[]>('Object.keys'));

  // $super exposes the members, bound to the value.
  expectType<string>()(await remote.$super.describe());
  expectType<string>()(await remote.$super.$super.describe());
  // @ts-expect-error unknown member on $super
  void remote.$super.nope;

  expectType<string>()(remote.$path);
  expectType<string>()(remote.items[0]!.$path);
  expectType<Promise<void>>()(remote.$close());
  expectType<string | number>()(await remote.title.catch(() => 0));
  expectType<string>()(await remote.title.finally(() => undefined));
}

export async function rootIsNotThenable(): Promise<void> {
  // `await connect<T>()` gives the root proxy itself.
  const r = await connect<Shop>('/tmp/x.sock');
  expectType<Remote<Shop>>()(r);
  assert<Equal<Awaited<Remote<Shop>>, Remote<Shop>>>();
  // @ts-expect-error the root proxy is not PromiseLike
  const p: PromiseLike<unknown> = remote;
  // Even when the hosted object has a `then` member of its own.
  const thenable = await connect<{ then(): void; x: number }>('/tmp/y.sock');
  // @ts-expect-error not PromiseLike either
  const q: PromiseLike<unknown> = thenable;
  expectType<number>()(await thenable.x);
  void [p, q];
  // A remote value (not the root) is awaitable.
  const v: PromiseLike<string> = remote.title;
  void v;
  // @ts-expect-error the root is not callable
  remote();
}

export async function untyped(): Promise<void> {
  // connect() without a type argument: members are `any` (anything goes), the controls stay typed.
  const r = await connect('/tmp/x.sock');
  assert<Equal<typeof r, Remote<any>>>();
  expectType<any>()(await r.a.b[0].c());
  expectType<any>()(await r.$get());
  expectType<number>()(await r.$len());
  expectType<boolean>()(await r.$has('a'));
  // A member typed `any` inside a typed remote is likewise open.
  expectType<any>()(await remote.meta.a.b());
  expectType<number>()(await remote.meta.$len());
  r.stop = true;
  delete r.stop;
  // @ts-expect-error the untyped root is still not PromiseLike
  const p: PromiseLike<unknown> = r;
  void p;
  // A typed remote may be viewed as untyped, e.g. to assign a member in place.
  (remote as Remote<any>).on = true;
}

interface TreeNode {
  value: number;
  parent: TreeNode | null;
  children: TreeNode[];
  find(value: number): TreeNode | undefined;
}

export async function recursiveTypes(tree: Remote<TreeNode>): Promise<void> {
  // Deep chains over a recursive type stay typed (and cheap to check).
  expectType<number>()(await tree.children[0]!.children[1]!.parent.parent.value);
  expectType<number>()(await tree.find(3).parent.find(4).value);
  // A node's parent has the root's type: structurally it may be the hosted object, so it resolves to the root proxy.
  expectType<Remote<TreeNode> | null>()(await tree.parent);
}

export async function limitations(): Promise<void> {
  // A generic method loses its type parameter (TypeScript cannot map a generic signature): it takes and gives unknown.
  const r = await connect<{ echo<V>(v: V): V }>('/tmp/x.sock');
  expectType<unknown>()(await r.echo(1));
  // Plain assignment works at run time but cannot be typed: use $set, or a Remote<any> view.
  // @ts-expect-error
  remote.on = true;
}

export async function disposable(): Promise<void> {
  // `await using`: the root proxy closes its connection at the end of the block.
  {
    await using shop = await connect<Shop>('/tmp/x.sock');
    expectType<number>()(await shop.total());
    await using untypedRoot = await connect('/tmp/y.sock');
    expectType<any>()(await untypedRoot.anything);
  }
  expectType<Promise<void>>()(remote[Symbol.asyncDispose]());
  // Disposable, and still not thenable.
  assert<Equal<Awaited<Remote<Shop>>, Remote<Shop>>>();
  // @ts-expect-error a remote value below the root is not the connection: not disposable
  await using items = remote.items;
  // @ts-expect-error nor is a call's result
  await using total = remote.total();
  void [items, total];
}
