-- A text snapshot of everything the extension enspiral installs, one line
-- per fact, sorted: used by tools/upgrade.sh to compare an updated install
-- with a fresh one.  Covers every member object (pg_depend 'e') with its
-- definition, owner, privileges, settings and comment, and every column,
-- constraint, index, trigger, policy, default and config-dump registration
-- of the extension's tables.  OIDs never appear; only names.
\pset format unaligned
\pset tuples_only on
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'enspiral'),
members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
       AND d.deptype = 'e'
),
facts AS (
    -- every member object, with its description
    SELECT 'member ' || pg_describe_object(m.classid, m.objid, m.objsubid) AS fact FROM members m
    UNION ALL
    -- functions: full definition (body, language, volatility, security, settings), owner, privileges
    SELECT format('function %s: %s | owner=%s acl=%s comment=%s', p.oid::regprocedure,
                  CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid)
                       ELSE format('aggregate %s', pg_get_function_arguments(p.oid)) END,
                  pg_get_userbyid(p.proowner), p.proacl, obj_description(p.oid, 'pg_proc'))
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    SELECT format('aggregate %s: sfunc=%s stype=%s final=%s combine=%s init=%s', a.aggfnoid::regprocedure,
                  a.aggtransfn::regproc, format_type(a.aggtranstype, NULL), a.aggfinalfn::regproc,
                  a.aggcombinefn::regproc, a.agginitval)
      FROM pg_aggregate a JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = a.aggfnoid
    UNION ALL
    -- relations: kind, owner, privileges, options, comment
    SELECT format('relation %s: kind=%s owner=%s acl=%s options=%s rls=%s comment=%s', c.oid::regclass,
                  c.relkind, pg_get_userbyid(c.relowner), c.relacl, c.reloptions, c.relrowsecurity,
                  obj_description(c.oid, 'pg_class'))
      FROM pg_class c WHERE c.relnamespace = 'enspiral'::regnamespace
    UNION ALL
    -- columns with type, nullability, default, identity, generation, comment
    SELECT format('column %s.%s: %s notnull=%s default=%s identity=%s generated=%s collation=%s comment=%s',
                  c.oid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attcollation::regcollation,
                  col_description(c.oid, a.attnum))
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
     WHERE c.relnamespace = 'enspiral'::regnamespace
    UNION ALL
    -- constraints, indexes, triggers, rules, policies
    SELECT format('constraint %s on %s: %s deferrable=%s deferred=%s', k.conname, k.conrelid::regclass,
                  pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred)
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('constraint %s on type %s: %s', k.conname, k.contypid::regtype, pg_get_constraintdef(k.oid))
      FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid
     WHERE t.typnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('index %s: %s comment=%s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid),
                  obj_description(i.indexrelid, 'pg_class'))
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
     WHERE c.relnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('trigger %s on %s: %s enabled=%s', t.tgname, t.tgrelid::regclass,
                  pg_get_triggerdef(t.oid), t.tgenabled)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'enspiral'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT format('rule %s on %s: %s', r.rulename, r.ev_class::regclass, pg_get_ruledef(r.oid))
      FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
     WHERE c.relnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('policy %s on %s: cmd=%s roles=%s using=%s check=%s', p.polname, p.polrelid::regclass,
                  p.polcmd, p.polroles::regrole[], pg_get_expr(p.polqual, p.polrelid),
                  pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
     WHERE c.relnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('view %s: %s', c.oid::regclass, pg_get_viewdef(c.oid))
      FROM pg_class c WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('sequence %s: %s %s %s %s %s', s.seqrelid::regclass, format_type(s.seqtypid, NULL),
                  s.seqstart, s.seqincrement, s.seqmin, s.seqmax)
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
     WHERE c.relnamespace = 'enspiral'::regnamespace
    UNION ALL
    -- types: kind, I/O functions, storage, owner, comment; enum labels
    SELECT format('type %s: type=%s category=%s len=%s byval=%s align=%s in=%s out=%s recv=%s send=%s owner=%s acl=%s comment=%s',
                  t.oid::regtype, t.typtype, t.typcategory, t.typlen, t.typbyval, t.typalign,
                  t.typinput, t.typoutput, t.typreceive, t.typsend, pg_get_userbyid(t.typowner), t.typacl,
                  obj_description(t.oid, 'pg_type'))
      FROM pg_type t WHERE t.typnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('enum %s: %s', e.enumtypid::regtype, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder))
      FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
     WHERE t.typnamespace = 'enspiral'::regnamespace GROUP BY e.enumtypid
    UNION ALL
    -- operators, operator classes and families with their members
    SELECT format('operator %s: proc=%s commutator=%s negator=%s restrict=%s join=%s hashes=%s merges=%s owner=%s',
                  o.oid::regoperator, o.oprcode, o.oprcom::regoperator, o.oprnegate::regoperator,
                  o.oprrest, o.oprjoin, o.oprcanhash, o.oprcanmerge, pg_get_userbyid(o.oprowner))
      FROM pg_operator o WHERE o.oprnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('opclass %s using %s: type=%s default=%s family=%s', c.opcname, am.amname,
                  c.opcintype::regtype, c.opcdefault, f.opfname)
      FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
     WHERE c.opcnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('amop %s using %s: strategy %s %s', f.opfname, am.amname, ao.amopstrategy,
                  ao.amopopr::regoperator)
      FROM pg_amop ao JOIN pg_opfamily f ON f.oid = ao.amopfamily JOIN pg_am am ON am.oid = f.opfmethod
     WHERE f.opfnamespace = 'enspiral'::regnamespace
    UNION ALL
    SELECT format('amproc %s using %s: support %s %s (%s, %s)', f.opfname, am.amname, ap.amprocnum,
                  ap.amproc::regprocedure, ap.amproclefttype::regtype, ap.amprocrighttype::regtype)
      FROM pg_amproc ap JOIN pg_opfamily f ON f.oid = ap.amprocfamily JOIN pg_am am ON am.oid = f.opfmethod
     WHERE f.opfnamespace = 'enspiral'::regnamespace
    UNION ALL
    -- casts that involve the extension's types
    SELECT format('cast %s -> %s: func=%s context=%s method=%s', format_type(c.castsource, NULL),
                  format_type(c.casttarget, NULL), c.castfunc::regprocedure, c.castcontext, c.castmethod)
      FROM pg_cast c JOIN members m ON m.classid = 'pg_cast'::regclass AND m.objid = c.oid
    UNION ALL
    -- the schema and what pg_dump will dump
    SELECT format('schema enspiral: owner=%s acl=%s', pg_get_userbyid(n.nspowner), n.nspacl)
      FROM pg_namespace n WHERE n.nspname = 'enspiral'
    UNION ALL
    SELECT format('config dump %s: %s', cfg, cond)
      FROM ext, unnest(ext.extconfig::regclass[], ext.extcondition) AS u(cfg, cond)
)
SELECT fact FROM facts ORDER BY fact COLLATE "C";
