// Members of one upstream (a host's slaves, its resizers) are replaced one at a time, so
// the master always has a member to send to. A member waits for the previous one to be
// healthy (its container's `wait`) and then for the master to take it back: the master
// keeps a member that failed out for fail_timeout, and the previous member failed while
// it was being replaced.
import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

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
    { parent, dependsOn: [container] },
  );
}

/** A component's dependsOn plus more: a component's dependsOn does not reach its children by itself. */
export function dependsOnPlus(dependsOn: pulumi.ComponentResourceOptions["dependsOn"], extra: pulumi.Resource[]): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
  return pulumi.output(dependsOn ?? []).apply((d) => [...(Array.isArray(d) ? d : [d]), ...extra]);
}
