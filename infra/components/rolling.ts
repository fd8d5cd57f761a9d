// Members of one upstream (a host's slaves, its resizers) are replaced one at a time, so
// the master always has a member to send to. A member waits for the previous one to be
// healthy (its container's `wait`) and then for the master to take it back: the master
// keeps a member that failed out for fail_timeout, and the previous member failed while
// it was being replaced.
import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/**
 * Options of every Command whose `triggers` decide when it runs again: a changed trigger
 * makes a new Command (create runs, a new id), by the engine's own rule rather than the
 * provider's. The provider calls a changed element an update (pulumi-go-provider
 * infer/resource.go Diff looks its schema's replaceOnChanges up by the diff's key,
 * `triggers[0]`) and replaces only on the input as a whole; @pulumi/command 1.x's SDK asks
 * the engine for ["triggers[*]"], the installed 4.5.0 SDK for nothing. "triggers" covers
 * both the elements and the whole input (step_generator.go applyReplaceOnChanges), so a
 * drain whose trigger (its master's id) turns unknown is replaced, and so deleted, in the
 * master's delete-before-replace cascade whatever the provider's schema says
 * (calculateDependentReplacements replaces only dependents whose diff is a replacement).
 */
export const RERUN: Pick<pulumi.CustomResourceOptions, "replaceOnChanges"> = { replaceOnChanges: ["triggers"] };

/**
 * Creates the named members in order; `create` gets what member `index` must wait for.
 * `containerOf` is the container whose replacement restarts the pause after it.
 */
export function oneAtATime<T extends pulumi.Resource>(
  names: readonly string[],
  retryMs: number,
  parent: pulumi.Resource,
  create: (index: number, after: pulumi.Resource[]) => T,
  containerOf: (member: T) => docker.Container,
): T[] {
  const members: T[] = [];
  let after: pulumi.Resource[] = [];
  names.forEach((name, index) => {
    const member = create(index, after);
    members.push(member);
    after = [index < names.length - 1 ? settled(name, containerOf(member), retryMs, parent) : member];
  });
  return members;
}

/** Done `retryMs` after the container was (re)created and found healthy. */
function settled(name: string, container: docker.Container, retryMs: number, parent: pulumi.Resource): pulumi.Resource {
  if (retryMs === 0) return container;
  return new command.local.Command(
    `${name}-settled`,
    // Runs again only when the container was replaced (its id changes).
    { create: `sleep ${Math.ceil(retryMs / 1000)}`, triggers: [container.id] },
    { parent, dependsOn: [container], ...RERUN },
  );
}

/** A component's dependsOn plus more: a component's dependsOn does not reach its children by itself. */
export function dependsOnPlus(dependsOn: pulumi.ComponentResourceOptions["dependsOn"], extra: pulumi.Resource[]): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
  // A plain list stays plain: an Output of resources makes the runtime walk every resource's
  // whole object graph for unknowns (output.js containsUnknowns), once per child.
  if (dependsOn === undefined) return extra;
  if (pulumi.Resource.isInstance(dependsOn)) return [dependsOn, ...extra];
  if (Array.isArray(dependsOn)) return [...dependsOn, ...extra];
  return pulumi.output(dependsOn as pulumi.Input<pulumi.Resource[]>).apply((d) => [...d, ...extra]);
}
