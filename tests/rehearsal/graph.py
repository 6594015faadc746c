"""CloudFormation's dependency graph of a template: which resource waits for which."""

import re

SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(node, resources, local=frozenset()):
    """The resources `node` refers to: Ref, Fn::GetAtt and ${...} in Fn::Sub, anywhere inside it."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                if value in resources and value not in local:
                    found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                if target in resources:
                    found.add(target)
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                names = set(variables)
                found |= {v for v in SUB_VARIABLE.findall(text) if v in resources and v not in names}
                found |= references(variables, resources, local)
            else:
                found |= references(value, resources, local)
    elif isinstance(node, list):
        for item in node:
            found |= references(item, resources, local)
    return found


def dependencies(template):
    """Resource -> the resources it depends on, as CloudFormation orders creation: references in its
    Properties, UpdatePolicy, CreationPolicy and Metadata, and DependsOn."""
    resources = template["Resources"]
    graph = {}
    for name, resource in resources.items():
        deps = set()
        for part in ("Properties", "UpdatePolicy", "CreationPolicy", "Metadata"):
            deps |= references(resource.get(part, {}), resources)
        depends_on = resource.get("DependsOn", [])
        deps |= set([depends_on] if isinstance(depends_on, str) else depends_on)
        graph[name] = deps
    return graph


def cycles(graph):
    """Every strongly connected component of more than one resource (or a resource naming itself),
    each with one loop through it: what CloudFormation refuses as a circular dependency."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = [0]

    def connect(start):
        # Iterative Tarjan: templates have hundreds of resources, deeper than Python's recursion likes.
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [Cycle(set(c), path_through(graph, set(c))) for c in components]


class Cycle:
    """Resources that wait on each other, and one loop through them to show."""

    def __init__(self, members, path):
        self.members, self.path = members, path

    def __repr__(self):
        return self.path


def path_through(graph, component):
    """One cycle inside `component`, as `A -> B -> ... -> A`."""
    start = min(component)
    path, seen, node = [start], {start}, start
    while True:
        following = sorted(d for d in graph[node] if d in component)
        nxt = next((d for d in following if d == start), None) or next(d for d in following if d not in seen or d == start)
        path.append(nxt)
        if nxt == start or nxt in seen:
            return " -> ".join(path[path.index(nxt):] if nxt in path[:-1] else path)
        seen.add(nxt)
        node = nxt
