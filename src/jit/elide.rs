//! Check elision: a null or bounds check whose condition is known to hold (a
//! check of the same values dominates it) becomes a jump. Values are compared
//! after resolving aliases, block parameters that always carry one value, and
//! pure integer arithmetic.

use cranelift_codegen::ir::{self, InstBuilder, Value};
use std::collections::HashMap;

/// The block parameters that always hold one other value (every incoming edge
/// passes that value, or the parameter itself around a loop), mapped to it: the
/// SSA builder leaves such parameters where it seals blocks before their
/// predecessors are complete. Each round resolves at least one more level of
/// parameters passed on to parameters; what is left after a few rounds stays
/// distinct (fewer checks elided, never a wrong one).
fn same_values(
    func: &ir::Function,
    cfg: &cranelift_codegen::flowgraph::ControlFlowGraph,
) -> HashMap<Value, Value> {
    let mut same: HashMap<Value, Value> = HashMap::new();
    let find = |same: &HashMap<Value, Value>, v: Value| resolve_same(func, same, v);
    for _round in 0..8 {
        let mut changed = false;
        for block in func.layout.blocks() {
            for (i, &param) in func.dfg.block_params(block).iter().enumerate() {
                let me = find(&same, param);
                let mut only: Option<Value> = None;
                let mut unique = true;
                'preds: for pred in cfg.pred_iter(block) {
                    for call in func.dfg.insts[pred.inst]
                        .branch_destination(&func.dfg.jump_tables, &func.dfg.exception_tables)
                    {
                        if call.block(&func.dfg.value_lists) != block {
                            continue;
                        }
                        let arg = match call.args(&func.dfg.value_lists).nth(i) {
                            Some(ir::BlockArg::Value(a)) => find(&same, a),
                            _ => {
                                unique = false;
                                break 'preds;
                            }
                        };
                        if arg == me {
                            continue;
                        }
                        match only {
                            None => only = Some(arg),
                            Some(o) if o == arg => {}
                            Some(_) => {
                                unique = false;
                                break 'preds;
                            }
                        }
                    }
                }
                if let (true, Some(o)) = (unique, only) {
                    if o != me {
                        same.insert(me, o);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    same
}

/// `v` with aliases resolved and followed through `same` ([`same_values`]).
fn resolve_same(func: &ir::Function, same: &HashMap<Value, Value>, v: Value) -> Value {
    let mut v = func.dfg.resolve_aliases(v);
    while let Some(&w) = same.get(&v) {
        v = w;
    }
    v
}

/// A block reached only when a condition holds: the `ok` block of a check
/// (`branch`, which may be elided) or one the personality vouches for
/// ([`FnCtx::assume_nonnull`]; no branch).
pub(super) struct Check {
    pub(super) key: CheckKey,
    pub(super) branch: Option<ir::Inst>,
    pub(super) ok: ir::Block,
}

/// What a [`Check`] establishes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum CheckKey {
    /// The reference is not null.
    NonNull(Value),
    /// `index < len`, unsigned.
    InBounds(Value, Value),
}

/// Value numbering of pure integer arithmetic, for comparing checks: two values
/// computed by the same operation on the same (numbered) operands are one.
#[derive(Default)]
struct PureExprs {
    memo: HashMap<Value, Value>,
    table: HashMap<(ir::InstructionData, ir::Type), Value>,
}

impl PureExprs {
    fn canon(
        &mut self,
        func: &ir::Function,
        same: &HashMap<Value, Value>,
        v: Value,
        depth: u32,
    ) -> Value {
        let v = resolve_same(func, same, v);
        if let Some(&c) = self.memo.get(&v) {
            return c;
        }
        let Some(inst) = func.dfg.value_def(v).inst() else {
            return v;
        };
        use ir::{InstructionData as D, Opcode as O};
        let mut data = func.dfg.insts[inst];
        let pure = match &mut data {
            D::Binary { opcode, args } => {
                matches!(
                    opcode,
                    O::Iadd
                        | O::Isub
                        | O::Imul
                        | O::Band
                        | O::Bor
                        | O::Bxor
                        | O::Ishl
                        | O::Ushr
                        | O::Sshr
                ) && depth < 16
                    && {
                        for a in args.iter_mut() {
                            *a = self.canon(func, same, *a, depth + 1);
                        }
                        true
                    }
            }
            D::UnaryImm {
                opcode: O::Iconst, ..
            } => true,
            _ => false,
        };
        let c = if pure {
            let ty = func.dfg.value_type(v);
            *self.table.entry((data, ty)).or_insert(v)
        } else {
            v
        };
        self.memo.insert(v, c);
        c
    }
}

/// Turns each check in `checks` whose condition is known to hold into a jump to
/// its `ok` block (see the [module docs](self)). Runs on the sealed function.
pub(super) fn elide(func: &mut ir::Function, checks: &[Check]) {
    if checks.len() < 2 || checks.iter().all(|c| c.branch.is_none()) {
        return;
    }
    let cfg = cranelift_codegen::flowgraph::ControlFlowGraph::with_function(func);
    let same = same_values(func, &cfg);
    let mut exprs = PureExprs::default();
    let mut by_key: HashMap<CheckKey, Vec<usize>> = HashMap::new();
    for (i, c) in checks.iter().enumerate() {
        let mut canon = |v| exprs.canon(func, &same, v, 0);
        let key = match c.key {
            CheckKey::NonNull(v) => CheckKey::NonNull(canon(v)),
            CheckKey::InBounds(i, l) => CheckKey::InBounds(canon(i), canon(l)),
        };
        by_key.entry(key).or_default().push(i);
    }
    if by_key.values().all(|v| v.len() < 2) {
        return;
    }
    let dt = cranelift_codegen::dominator_tree::DominatorTree::with_function(func, &cfg);
    let mut redundant = Vec::new();
    for group in by_key.values().filter(|v| v.len() > 1) {
        for &c in group {
            let Some(branch) = checks[c].branch else {
                continue;
            };
            let Some(at) = func.layout.inst_block(branch) else {
                continue;
            };
            if group
                .iter()
                .any(|&p| p != c && dt.dominates(checks[p].ok, at, &func.layout))
            {
                redundant.push(c);
            }
        }
    }
    for c in redundant {
        if let Check {
            branch: Some(branch),
            ok,
            ..
        } = checks[c]
        {
            func.replace(branch).jump(ok, &[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::{types, AbiParam, Function, Opcode, Signature, UserFuncName};
    use cranelift_codegen::isa::CallConv;
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

    /// A function under construction and the checks made in it, as `FnCtx` makes
    /// them (`brif cond, ok, bad`).
    struct Case<'a> {
        b: FunctionBuilder<'a>,
        checks: Vec<Check>,
        fail: ir::Block,
    }

    fn function(params: usize) -> Function {
        let mut sig = Signature::new(CallConv::SystemV);
        for _ in 0..params {
            sig.params.push(AbiParam::new(types::I64));
        }
        sig.returns.push(AbiParam::new(types::I64));
        Function::with_name_signature(UserFuncName::default(), sig)
    }

    impl<'a> Case<'a> {
        fn new(func: &'a mut Function, ctx: &'a mut FunctionBuilderContext) -> (Self, Vec<Value>) {
            let mut b = FunctionBuilder::new(func, ctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            // The entry block is laid out first; the failure block, filled last,
            // after it.
            b.switch_to_block(entry);
            let fail = b.create_block();
            let params = b.block_params(entry).to_vec();
            let case = Case {
                b,
                checks: Vec::new(),
                fail,
            };
            (case, params)
        }

        /// A null check of `v`; continues in its `ok` block. Returns its index.
        fn null_check(&mut self, v: Value) -> usize {
            let ok = self.b.create_block();
            let branch = self.b.ins().brif(v, ok, &[], self.fail, &[]);
            self.b.switch_to_block(ok);
            self.checks.push(Check {
                key: CheckKey::NonNull(v),
                branch: Some(branch),
                ok,
            });
            self.checks.len() - 1
        }

        /// A bounds check `i < n`; continues in its `ok` block.
        fn bounds_check(&mut self, i: Value, n: Value) -> usize {
            let ok = self.b.create_block();
            let c = self
                .b
                .ins()
                .icmp(ir::condcodes::IntCC::UnsignedLessThan, i, n);
            let branch = self.b.ins().brif(c, ok, &[], self.fail, &[]);
            self.b.switch_to_block(ok);
            self.checks.push(Check {
                key: CheckKey::InBounds(i, n),
                branch: Some(branch),
                ok,
            });
            self.checks.len() - 1
        }
    }

    /// Builds a function with `body` (which returns its result), then elides its
    /// checks; says which checks became jumps.
    fn run(params: usize, body: impl FnOnce(&mut Case<'_>, &[Value]) -> Value) -> Vec<bool> {
        let mut func = function(params);
        let mut ctx = FunctionBuilderContext::new();
        let checks = {
            let (mut case, ps) = Case::new(&mut func, &mut ctx);
            let r = body(&mut case, &ps);
            case.b.ins().return_(&[r]);
            case.b.switch_to_block(case.fail);
            let z = case.b.ins().iconst(types::I64, 0);
            case.b.ins().return_(&[z]);
            case.b.seal_all_blocks();
            std::mem::take(&mut case.checks)
        };
        elide(&mut func, &checks);
        checks
            .iter()
            .map(|c| func.dfg.insts[c.branch.unwrap()].opcode() == Opcode::Jump)
            .collect()
    }

    #[test]
    fn a_dominated_repeat_of_a_null_check_becomes_a_jump() {
        let elided = run(1, |c, p| {
            c.null_check(p[0]);
            c.null_check(p[0]);
            p[0]
        });
        assert_eq!(elided, [false, true]);
    }

    #[test]
    fn checks_of_different_values_stay() {
        let elided = run(2, |c, p| {
            c.null_check(p[0]);
            c.null_check(p[1]);
            p[0]
        });
        assert_eq!(elided, [false, false]);
    }

    #[test]
    fn a_check_on_one_arm_does_not_cover_the_other() {
        let elided = run(2, |c, p| {
            let (left, right, join) = (c.b.create_block(), c.b.create_block(), c.b.create_block());
            c.b.ins().brif(p[1], left, &[], right, &[]);
            c.b.switch_to_block(left);
            c.null_check(p[0]);
            c.b.ins().jump(join, &[]);
            c.b.switch_to_block(right);
            c.b.ins().jump(join, &[]);
            c.b.switch_to_block(join);
            c.null_check(p[0]);
            p[0]
        });
        assert_eq!(
            elided,
            [false, false],
            "the join is reached without the check"
        );
    }

    #[test]
    fn the_same_pure_arithmetic_counts_as_the_same_value() {
        let elided = run(2, |c, p| {
            let one = c.b.ins().iconst(types::I64, 1);
            let i1 = c.b.ins().iadd(p[0], one);
            c.bounds_check(i1, p[1]);
            let one_again = c.b.ins().iconst(types::I64, 1);
            let i2 = c.b.ins().iadd(p[0], one_again);
            c.bounds_check(i2, p[1]);
            let two = c.b.ins().iconst(types::I64, 2);
            let i3 = c.b.ins().iadd(p[0], two);
            c.bounds_check(i3, p[1]);
            i1
        });
        assert_eq!(elided, [false, true, false]);
    }

    #[test]
    fn a_block_parameter_that_carries_one_value_is_that_value() {
        let elided = run(1, |c, p| {
            c.null_check(p[0]);
            let next = c.b.create_block();
            let q = c.b.append_block_param(next, types::I64);
            c.b.ins().jump(next, &[ir::BlockArg::Value(p[0])]);
            c.b.switch_to_block(next);
            c.null_check(q);
            q
        });
        assert_eq!(elided, [false, true]);
    }
}
